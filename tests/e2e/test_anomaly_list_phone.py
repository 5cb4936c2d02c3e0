"""The anomaly list in a browser: on a phone (390×844) nothing scrolls sideways, and the bulk
bar stays folded away until a row is ticked, then offers only the chosen action's options;
a row's ticket chip that is syncing updates by itself once the worker delivers; a bulk action
over every matching anomaly runs in a worker and its page shows the summary when done."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from anomalies.models import OPEN_STATUSES, Anomaly, Datastore, Level, Status, User
from anomalies.permissions import effective_level
from integrations.models import SyncEvent, SyncState
from integrations.models.sync import remote_issue_key
from integrations.services import connected_integration
from simulators.jira import SimulatorControl
from tests.conftest import grant, make_link

from .conftest import People, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo() -> None:
    call_command("seed_demo", anomalies=20, stdout=io.StringIO())


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_it_fits_a_phone_and_shows_the_bulk_bar_only_after_a_tick(people: People, demo):
    page = people.sign_in("author")
    page.set_viewport_size(PHONE)
    page.goto("/anomalies/")
    bar = page.get_by_role("form", name="Bulk actions")

    expect(page.locator("table.anomalies tbody tr").first).to_be_visible()
    expect(bar).to_be_hidden()
    assert scroll_width(page) <= PHONE["width"]

    page.locator("input.row-select").first.check()
    expect(bar).to_be_visible()
    expect(bar.get_by_text("1 row selected")).to_be_visible()
    bar.get_by_label("Action").select_option("archive")
    expect(bar.get_by_label("Reason")).to_be_visible()
    expect(bar.get_by_label("Comment", exact=True)).to_be_hidden()
    people.screenshot(page, "phone-list-bulk-bar")
    assert scroll_width(page) <= PHONE["width"]

    page.locator("input.row-select").first.uncheck()
    expect(bar).to_be_hidden()


def test_it_updates_a_syncing_rows_chip_without_a_reload(
    people: People, e2e_stack: Stack, demo, settings
):
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True  # for connect_demo_jira, in this process
    call_command("connect_demo_jira", url=e2e_stack.jira_url, stdout=io.StringIO())
    integration = connected_integration()
    anomaly = (
        Anomaly.objects.filter(status=Status.ACTIVE)
        .exclude(datastore__name="HR Postgres")
        .order_by("-detected_at", "-id")
        .first()
    )
    issue = SimulatorControl(e2e_stack.jira_url).issue("DQ-1")
    link = make_link(anomaly, integration, "DQ-1", issue_id=issue["id"])
    # Due in a few seconds: the page shows it pending first, then the worker's sweep sends it.
    SyncEvent.objects.create(
        link=link,
        remote_issue=remote_issue_key(integration.pk, issue["id"]),
        kind="commented",
        body="Checked upstream: a late load.",
        created_at=timezone.now(),
        next_attempt_at=timezone.now() + timedelta(seconds=4),
    )
    page = people.sign_in("author")
    page.goto("/anomalies/")
    chips = page.locator(f"#row-tickets-{anomaly.pk}")

    expect(chips).to_contain_text("Sync pending")
    expect(chips.get_by_role("link", name="DQ-1 (opens in a new tab)")).to_be_visible()
    people.screenshot(page, "desktop-list-syncing-chip")
    expect(chips).not_to_contain_text("Sync pending", timeout=30_000)
    # Nothing pends any more: the poller is gone quiet.
    expect(page.locator("#ticket-poller")).not_to_have_attribute("hx-get", re.compile(".+"))


@pytest.fixture
def crowded_demo() -> None:
    call_command("seed_demo", anomalies=300, stdout=io.StringIO())


def test_it_acknowledges_every_matching_anomaly_in_the_background_and_each_comment_reaches_jira_once(  # noqa: E501
    people: People, e2e_stack: Stack, crowded_demo, settings
):
    settings.JIRA_ALLOW_INSECURE_LOOPBACK = True  # for connect_demo_jira, in this process
    call_command("connect_demo_jira", url=e2e_stack.jira_url, stdout=io.StringIO())
    integration = connected_integration()
    jira = SimulatorControl(e2e_stack.jira_url)
    issues = [jira.issue(key) for key in ("DQ-1", "DQ-2")]
    before = {issue["key"]: {c["id"] for c in jira.comments(issue["key"])} for issue in issues}
    # The demo's drafter, made an Author on one datastore: the other's anomalies are skipped.
    author = User.objects.get(username="drafter")
    grant(author, Datastore.objects.get(name="Sales Warehouse"), Level.AUTHOR)
    # The Open tab: active and acknowledged anomalies of every datastore the author sees.
    shown = list(Anomaly.objects.visible_to(author).filter(status__in=OPEN_STATUSES))
    assert len(shown) > 100, "more than the request carries out itself"
    for n, anomaly in enumerate(sorted(shown, key=lambda a: a.pk)):
        issue = issues[n % 2]
        make_link(anomaly, integration, issue["key"], issue_id=issue["id"])
    writable = [a for a in shown if effective_level(author, a.datastore_id) >= Level.AUTHOR]
    done = [a for a in writable if a.status == Status.ACTIVE]
    skips = {
        "already acknowledged": len(writable) - len(done),
        "needs Author permission": len(shown) - len(writable),
    }
    assert all(skips.values()), "the demo gives the author both kinds of skip"
    page = people.sign_in("drafter")
    page.set_viewport_size(PHONE)
    page.goto("/anomalies/")
    bar = page.get_by_role("form", name="Bulk actions")

    page.locator("input.row-select").first.check()
    bar.get_by_role("radio", name=f"All {len(shown)} matching").check()
    bar.get_by_label("Action").select_option("acknowledge")
    bar.get_by_role("button", name="Apply").click()

    expect(page).to_have_url(re.compile(r"/anomalies/bulk/\d+/$"))
    skipped = ", ".join(
        f"{count} skipped: {reason}"
        for reason, count in sorted(skips.items(), key=lambda pair: (-pair[1], pair[0]))
    )
    expect(page.locator(".message-success")).to_have_text(
        f"{len(done)} acknowledged, {skipped}; {len(done)} Jira comments queued.",
        timeout=60_000,
    )
    people.screenshot(page, "phone-bulk-run-done")
    assert scroll_width(page) <= PHONE["width"]
    wait_for_deliveries(len(done))
    for issue in issues:
        events = SyncEvent.objects.filter(link__issue_key=issue["key"]).order_by("pk")
        delivered = [int(event.remote_note_id) for event in events]
        assert delivered == sorted(delivered), "Jira received them out of order"
        comments = jira.comments(issue["key"])
        in_jira = sorted(int(c["id"]) for c in comments if c["id"] not in before[issue["key"]])
        assert in_jira == delivered, "a comment is missing or doubled in Jira"


def wait_for_deliveries(count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    delivered = SyncEvent.objects.filter(state=SyncState.DELIVERED)
    while delivered.count() < count and time.monotonic() < deadline:
        time.sleep(0.25)
    assert delivered.count() == count, f"{delivered.count()} of {count} delivered"
