"""Every page on a phone (390×844) and a desktop (1440×900), and with the keyboard only.

No page scrolls sideways; every form control has a name; every visible text meets AA
contrast as the browser renders it; the first Tab lands on the skip link; Escape closes the
Archive popover; after an action the focus is on its outcome. Each page is photographed at
each size into var/e2e-screenshots/ (`phone-…`, `desktop-…`, `small-phone-…` at 360 px).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from http import HTTPStatus

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from anomalies.models import Anomaly
from integrations.services import connected_integration

from .conftest import People, Stack, active_anomaly_every_team_sees

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
# The narrowest phones still sold; measured for sideways scrolling only.
SMALL_PHONE = {"small-phone": {"width": 360, "height": 740}}
AA_NORMAL_TEXT = 4.5

# Rendered text below AA, as the browser paints it: each element with its own text, against
# the first opaque background among it and its ancestors. Computed in the page, so it sees
# the cascade, media queries and inherited colours the stylesheet test cannot.
LOW_CONTRAST_TEXT_JS = """
(minimum) => {
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const channel = (c) => {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const backgroundOf = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || colour[3] === 1) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const found = [];
  for (const element of document.body.querySelectorAll("*")) {
    const ownText = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || !element.checkVisibility()) continue;
    const box = element.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // visually hidden, for screen readers
    const value = ratio(rgb(getComputedStyle(element).color).slice(0, 3), backgroundOf(element));
    if (value < minimum) found.push(`${element.tagName.toLowerCase()}.${element.className}: ` +
      `"${element.textContent.trim().slice(0, 30)}" ${value.toFixed(2)}:1`);
  }
  return found;
}
"""

# Form controls a screen reader would announce without a name.
UNNAMED_CONTROLS_JS = """
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((c) => c.type !== "hidden" && !c.labels.length
    && !c.getAttribute("aria-label") && !c.getAttribute("aria-labelledby"))
  .map((c) => c.outerHTML.slice(0, 80))
"""


@dataclass(frozen=True)
class Visit:
    name: str
    path: str
    status: int = HTTPStatus.OK


@pytest.fixture
def demo(settings) -> None:
    call_command("seed_demo", anomalies=20, stdout=io.StringIO())
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True  # for connect_demo_jira, in this process


@pytest.fixture
def active_anomaly(demo) -> Anomaly:
    """An Active anomaly on a datastore that every demo team can see."""
    return active_anomaly_every_team_sees()


def connect_jira(stack: Stack) -> int:
    call_command("connect_demo_jira", url=stack.jira_url, stdout=io.StringIO())
    return connected_integration().pk


class Tour:
    """One person's pages at one size: each is measured, checked and photographed."""

    def __init__(self, people: People, page: Page, size: str) -> None:
        self.people, self.page, self.size = people, page, size
        self.width = (SIZES | SMALL_PHONE)[size]["width"]
        page.set_viewport_size((SIZES | SMALL_PHONE)[size])
        self.widths: dict[str, int] = {}

    def visit(self, visit: Visit) -> None:
        response = self.page.goto(visit.path)
        assert response.status == visit.status, visit
        self.check(visit.name)

    def check(self, name: str) -> None:
        page = self.page
        self.widths[name] = page.evaluate("document.documentElement.scrollWidth")
        path = self.people.screenshot_dir / f"{self.size}-{name}.png"
        page.screenshot(path=path, full_page=True)
        assert page.evaluate(UNNAMED_CONTROLS_JS) == [], name
        assert page.evaluate(LOW_CONTRAST_TEXT_JS, AA_NORMAL_TEXT) == [], name


def sideways(tour: Tour) -> dict[str, int]:
    return {name: width for name, width in tour.widths.items() if width > tour.width}


@pytest.mark.parametrize("size", [*SIZES, *SMALL_PHONE])
def test_it_fits_every_page_without_sideways_scrolling(
    people: People, e2e_stack: Stack, active_anomaly, size
):
    anomaly = active_anomaly.pk
    visitor = people.browser.new_context(base_url=e2e_stack.site_url)
    people.pages["visitor"] = visitor.new_page()
    signed_out = Tour(people, people.pages["visitor"], size)
    signed_out.visit(Visit("login", "/login/"))
    signed_out.visit(Visit("help-signed-out", "/help/"))

    manager = Tour(people, people.sign_in("manager"), size)
    manager.visit(Visit("integrations-not-connected", "/settings/integrations/"))
    manager.visit(Visit("connect", "/settings/integrations/jira/connect/"))
    integration = connect_jira(e2e_stack)
    manager.visit(Visit("list", "/anomalies/"))
    manager.visit(Visit("detail", f"/anomalies/{anomaly}/"))
    manager.page.get_by_label("Link an existing Jira issue").fill("DQ-1")
    manager.page.get_by_role("button", name="Link existing").click()
    expect(manager.page.get_by_role("status")).to_contain_text("Linked Jira issue DQ-1.")
    manager.check("detail-linked")
    manager.page.get_by_text("Archive…").click()
    manager.check("detail-archive-open")
    manager.visit(Visit("create-ticket", f"/anomalies/{anomaly}/tickets/new/"))
    manager.visit(Visit("search-tickets", f"/anomalies/{anomaly}/tickets/search/?q=customer"))
    manager.visit(Visit("integrations", "/settings/integrations/"))
    manager.visit(Visit("edit", f"/settings/integrations/{integration}/edit/"))
    manager.visit(Visit("disconnect", f"/settings/integrations/{integration}/disconnect/"))
    manager.visit(Visit("sync-health", "/settings/sync-health/"))
    manager.visit(Visit("help", "/help/"))

    member = Tour(people, people.sign_in("author"), size)
    member.visit(Visit("403", "/settings/integrations/", HTTPStatus.FORBIDDEN))
    outsider = Tour(people, people.sign_in("outsider"), size)
    outsider.visit(Visit("404", f"/anomalies/{anomaly}/", HTTPStatus.NOT_FOUND))
    outsider.visit(Visit("404-unknown-path", "/no-such-page/", HTTPStatus.NOT_FOUND))

    tours = (signed_out, manager, member, outsider)
    widths = {name: width for tour in tours for name, width in tour.widths.items()}
    print(f"scrollWidth at {size} ({signed_out.width} px): {widths}")
    assert {name: width for tour in tours for name, width in sideways(tour).items()} == {}
    assert len(widths) == 18  # every page above was measured


def test_it_puts_the_skip_link_first_and_jumps_to_the_content(people: People, active_anomaly):
    page = people.sign_in("author")
    page.goto("/anomalies/")

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is in the content, not the top bar
    assert page.evaluate("document.activeElement.closest('main') !== null")


@pytest.mark.parametrize("size", SIZES)
def test_it_closes_the_archive_popover_with_escape(people: People, active_anomaly, size):
    page = people.sign_in("author")
    page.set_viewport_size(SIZES[size])
    page.goto(f"/anomalies/{active_anomaly.pk}/")
    archive = page.locator("details.popover")

    page.get_by_text("Archive…").click()
    expect(page.get_by_role("button", name="Archive anomaly")).to_be_visible()
    page.keyboard.press("Escape")

    expect(page.get_by_role("button", name="Archive anomaly")).to_be_hidden()
    expect(archive.locator("summary")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]


def test_it_moves_the_focus_to_the_outcome_of_an_action(people: People, active_anomaly):
    page = people.sign_in("author")
    page.set_viewport_size(SIZES["phone"])
    page.goto(f"/anomalies/{active_anomaly.pk}/")

    page.get_by_label("Your comment").fill("Looking into it.")
    page.get_by_role("button", name="Add comment").click()

    messages = page.get_by_role("status")
    expect(messages).to_contain_text("Comment added.")
    expect(messages).to_be_focused()
    expect(messages).to_be_in_viewport()
