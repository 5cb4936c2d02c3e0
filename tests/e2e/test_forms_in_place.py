"""The create and link forms on a phone (390×844), by keyboard, without full-page round trips.

A Reporter finds the assignee with the typeahead using the keyboard alone, and the project
switch reloads only the fields; an Author's failed link keeps its error beside the input, in
view, with and without JavaScript; link suggestions fill the key. Screenshots go to
var/e2e-screenshots/ (`forms-…`).
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect

from anomalies.models import Anomaly
from tests.e2e.conftest import ACTION_MS, People, Stack, active_anomaly_every_team_sees

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
ASSIGNABLE_SEARCH = "/rest/api/3/user/assignable/search"
# Set in the page before an action; still there after it only if the page did not reload.
MARK_PAGE = "window.__samePage = true"
SAME_PAGE = "window.__samePage === true"


@pytest.fixture
def active_anomaly(settings) -> Anomaly:
    """An Active anomaly on a datastore that every demo team can see."""
    call_command("seed_demo", anomalies=20, stdout=io.StringIO())
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True  # for connect_demo_jira, in this process
    return active_anomaly_every_team_sees()


@pytest.fixture
def connected(e2e_stack: Stack, active_anomaly) -> Anomaly:
    call_command("connect_demo_jira", url=e2e_stack.jira_url, stdout=io.StringIO())
    return active_anomaly


def on_phone(people: People, username: str) -> Page:
    page = people.sign_in(username)
    page.set_viewport_size(PHONE)
    return page


def assignee_searches(stack: Stack) -> int:
    return sum(1 for entry in stack.jira.requests() if entry["path"] == ASSIGNABLE_SEARCH)


def settled(page: Page) -> None:
    """htmx has answered and swapped: no request under way, no new content unprocessed."""
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    expect(page.locator(busy)).to_have_count(0)


def assert_in_viewport(page: Page, element: Locator) -> None:
    """The whole element is on screen, not merely somewhere on the page."""
    box = element.bounding_box()
    assert box is not None, "not rendered"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def assert_no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_it_finds_the_assignee_by_keyboard_alone(people: People, e2e_stack: Stack, connected):
    page = on_phone(people, "reporter")
    page.goto(f"/anomalies/{connected.pk}/tickets/new/")
    form = page.locator("#create-ticket")
    page.evaluate(MARK_PAGE)

    # The project switch reloads the fields in place; what was typed stays.
    form.get_by_label("Summary").fill("Typed before the switch")
    form.locator("[name=project]").select_option("OPS")
    expect(form.locator("[name=issue_type] option")).to_contain_text(["Task", "Bug", "Incident"])
    settled(page)
    expect(form.get_by_label("Summary")).to_have_value("Typed before the switch")
    form.locator("[name=project]").select_option("DQ")
    settled(page)
    expect(form.locator("[name=issue_type] option", has_text="Incident")).to_have_count(0)

    finder = page.get_by_role("combobox", name="Find assignee")
    status = page.locator("#id_assignee_query-status")
    listbox = page.get_by_role("listbox")
    finder.focus()
    expect(status).to_have_text("Type part of a name to see who matches.")  # empty query
    expect(page.get_by_role("button", name="Find")).to_be_hidden()  # the typeahead replaces it

    finder.press_sequentially("zzzz", delay=40)
    expect(status).to_have_text("No one matches “zzzz”.")
    expect(finder).to_have_attribute("aria-expanded", "false")

    for _ in range(4):
        page.keyboard.press("Backspace")
    searches_before = assignee_searches(e2e_stack)
    finder.press_sequentially("ali", delay=40)  # one pause: one Jira call
    expect(status).to_contain_text("1 match.")
    expect(finder).to_have_attribute("aria-expanded", "true")
    assert assignee_searches(e2e_stack) - searches_before == 1
    option = listbox.get_by_role("option", name="Alice Andersen")
    people.screenshot(page, "forms-assignee-typeahead")

    page.keyboard.press("ArrowDown")  # a single match is highlighted like any other
    expect(option).to_have_attribute("aria-selected", "true")
    expect(finder).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    page.keyboard.press("Enter")
    expect(finder).to_have_value("Alice Andersen")
    expect(form.locator("[name=assignee]")).to_have_value("712020:sim-alice")
    expect(listbox).to_be_hidden()
    expect(status).to_have_text("Alice Andersen chosen.")

    finder.press("Control+a")  # replace the chosen name: more matches; Escape closes them
    finder.press_sequentially("a", delay=40)
    expect(finder).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(finder).to_have_attribute("aria-expanded", "false")
    expect(form.locator("[name=assignee]")).to_have_value("712020:sim-alice")

    assert page.evaluate(SAME_PAGE), "the page reloaded"
    assert_no_sideways_scroll(page)
    form.get_by_label("Summary").press("Enter")  # creates, with Alice as the assignee
    message = page.get_by_role("status")
    expect(message).to_contain_text(re.compile(r"Created Jira issue DQ-\d+ and linked it\."))
    key = re.search(r"DQ-\d+", message.inner_text()).group()
    assert e2e_stack.jira.issue(key)["fields"]["assignee"]["displayName"] == "Alice Andersen"


def test_it_keeps_a_create_refusal_beside_its_field_in_view(people: People, connected):
    page = on_phone(people, "reporter")
    page.goto(f"/anomalies/{connected.pk}/tickets/new/")
    form = page.locator("#create-ticket")
    form.get_by_label("Labels").fill("two words")

    form.get_by_label("Summary").press("Enter")

    labels = form.get_by_label("Labels")
    error = form.locator("label.field-labels .field-error")
    expect(error).to_contain_text("cannot contain spaces")
    expect(labels).to_have_value("two words")
    expect(labels).to_be_focused()
    assert_in_viewport(page, labels)
    assert_in_viewport(page, error)
    assert_no_sideways_scroll(page)
    people.screenshot(page, "forms-create-refused")


def test_it_keeps_a_failed_links_error_beside_the_key_in_view(people: People, connected):
    page = on_phone(people, "author")
    page.goto(f"/anomalies/{connected.pk}/")
    page.evaluate(MARK_PAGE)
    key_input = page.get_by_label("Link an existing Jira issue")

    key_input.fill("DQ-999")
    key_input.press("Enter")

    error = page.locator("#link-query-error")
    expect(error).to_contain_text("DQ-999 was not found in Jira")
    expect(key_input).to_have_value("DQ-999")
    expect(key_input).to_be_focused()
    assert_in_viewport(page, error)
    assert_in_viewport(page, key_input)
    assert page.evaluate(SAME_PAGE), "the page reloaded"
    assert_no_sideways_scroll(page)
    people.screenshot(page, "forms-link-refused")

    # Suggestions as you type: choosing one fills the key; Enter links it in place.
    key_input.fill("")
    key_input.press_sequentially("payments", delay=40)
    suggestion = page.get_by_role("option", name=re.compile(r"^DQ-2 — Duplicate rows"))
    expect(suggestion).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(key_input).to_have_value("DQ-2")
    page.keyboard.press("Enter")
    done = page.get_by_role("status")
    expect(done).to_have_text("Linked Jira issue DQ-2.")
    expect(page.locator("li.ticket[data-key='DQ-2']")).to_be_visible()
    assert_in_viewport(page, done)
    assert page.evaluate(SAME_PAGE), "the page reloaded"


def test_it_lands_on_the_error_without_javascript(people: People, e2e_stack: Stack, connected):
    context = people.browser.new_context(
        base_url=e2e_stack.site_url, viewport=PHONE, java_script_enabled=False
    )
    context.set_default_timeout(ACTION_MS)
    page = context.new_page()
    people.pages["author-without-js"] = page
    page.goto("/login/")
    page.get_by_label("Username").fill("author")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/anomalies/{connected.pk}/")

    page.get_by_label("Link an existing Jira issue").fill(f"{e2e_stack.jira_url}/browse/DQ-999")
    page.get_by_role("button", name="Link existing").click()

    page.wait_for_url(re.compile(r"#link-ticket$"))
    error = page.locator("#link-query-error")
    expect(error).to_contain_text("DQ-999 was not found in Jira")
    expect(page.get_by_label("Link an existing Jira issue")).to_have_value(
        f"{e2e_stack.jira_url}/browse/DQ-999"
    )
    assert_in_viewport(page, error)
    people.screenshot(page, "forms-link-refused-without-js")
