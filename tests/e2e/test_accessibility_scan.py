"""axe-core over every main page, on a phone (390×844) and a desktop (1440×900).

The demo is seeded as `make run` seeds it (anomalies linked to simulator issues, with
delivered, pending and failed notes and a broken reference), so the pages are scanned with
what a team sees on them. A serious or critical violation fails the test; every violation
found is printed, one line per rule and element. axe.min.js comes inside the
axe-playwright-python wheel: nothing is downloaded. The list and detail pages of the seeded
demo are photographed into var/e2e-screenshots/ (`demo-phone-list.png`, …).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from http import HTTPStatus

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from playwright.sync_api import Page

from anomalies.models import Anomaly, BulkRun, User
from integrations.models import SyncEvent, SyncState, TicketLink

from .conftest import People, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
FAILING_IMPACTS = {"serious", "critical"}


@dataclass(frozen=True)
class Scan:
    name: str
    path: str
    status: int = HTTPStatus.OK
    screenshot: bool = False


@pytest.fixture
def linked_demo(e2e_stack: Stack, settings) -> dict[str, int]:
    """The demo with linked tickets: which anomalies show what."""
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True  # connect_demo_jira runs in this process
    out = io.StringIO()
    call_command("seed_demo", anomalies=60, jira=e2e_stack.jira_url, links=40, stdout=out)
    failed = SyncEvent.objects.get(state=SyncState.FAILED).link
    pending = SyncEvent.objects.filter(state=SyncState.PENDING).first().link
    broken = TicketLink.objects.exclude(broken_reason="").get()
    # A bulk run no worker has started yet (the page with its progress bar).
    run = BulkRun.objects.create(
        user=User.objects.get(username="manager"),
        action="acknowledge",
        anomaly_ids=list(Anomaly.objects.values_list("pk", flat=True)[:150]),
    )
    return {
        "failed": failed.anomaly_id,
        "pending": pending.anomaly_id,
        "broken": broken.anomaly_id,
        "bulk_run": run.pk,
    }


def scans(demo: dict[str, int]) -> list[Scan]:
    return [
        Scan("list", "/anomalies/?status=all", screenshot=True),
        Scan("detail", f"/anomalies/{demo['failed']}/", screenshot=True),
        Scan("detail-pending", f"/anomalies/{demo['pending']}/"),
        Scan("detail-broken", f"/anomalies/{demo['broken']}/"),
        Scan("create-ticket", f"/anomalies/{demo['pending']}/tickets/new/"),
        Scan("search-tickets", f"/anomalies/{demo['pending']}/tickets/search/?q=orders"),
        Scan("integrations", "/settings/integrations/"),
        Scan("sync-health", "/settings/sync-health/"),
        Scan("rules", "/settings/rules/"),
        Scan("help", "/help/"),
        Scan("bulk-run", f"/anomalies/bulk/{demo['bulk_run']}/"),
        Scan("404", "/anomalies/999999/", HTTPStatus.NOT_FOUND),
    ]


def describe(page_name: str, violation: dict) -> list[str]:
    """One line per element: where, which rule, how bad, and axe's own explanation."""
    lines = []
    for node in violation["nodes"]:
        target = " ".join(str(part) for part in node["target"])
        summary = node.get("failureSummary", "").replace("\n", " ").strip()
        lines.append(
            f"{page_name}: [{violation['impact']}] {violation['id']} at {target}: "
            f"{violation['help']}. {summary}"
        )
    return lines


def scan(axe: Axe, page: Page, name: str) -> list[dict]:
    """axe's violations on the page as it is now (every rule axe runs by default)."""
    return axe.run(page).response["violations"]


@pytest.mark.parametrize("size", SIZES)
def test_it_finds_no_serious_accessibility_violation_on_any_page(
    people: People, e2e_stack: Stack, linked_demo, size
):
    axe = Axe()
    found: dict[str, list[dict]] = {}

    visitor = people.browser.new_context(base_url=e2e_stack.site_url, viewport=SIZES[size])
    signed_out = people.pages["visitor"] = visitor.new_page()
    signed_out.goto("/login/")
    found["login"] = scan(axe, signed_out, "login")

    page = people.sign_in("manager")
    page.set_viewport_size(SIZES[size])
    for visit in scans(linked_demo):
        response = page.goto(visit.path)
        assert response.status == visit.status, visit
        found[visit.name] = scan(axe, page, visit.name)
        if visit.screenshot:
            path = people.screenshot_dir / f"demo-{size}-{visit.name}.png"
            page.screenshot(path=path, full_page=True)

    member = people.sign_in("author")
    member.set_viewport_size(SIZES[size])
    assert member.goto("/settings/integrations/").status == HTTPStatus.FORBIDDEN
    found["403"] = scan(axe, member, "403")

    report = [line for name, vs in found.items() for v in vs for line in describe(name, v)]
    print(f"axe at {size} ({SIZES[size]['width']} px): {len(report)} finding(s)")
    print("\n".join(report))
    failing = [
        line
        for name, vs in found.items()
        for v in vs
        if v["impact"] in FAILING_IMPACTS
        for line in describe(name, v)
    ]
    assert not failing, "\n" + "\n".join(failing)
    assert len(found) == 14  # every page above was scanned
