"""The anomaly list in a browser: on a phone (390×844) nothing scrolls sideways, and the bulk
bar stays folded away until a row is ticked, then offers only the chosen action's options;
a row's ticket chip that is syncing updates by itself once the worker delivers."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from anomalies.models import Anomaly, Status
from integrations.models import SyncEvent
from integrations.models.sync import remote_issue_key
from integrations.services import connected_integration
from simulators.jira import SimulatorControl
from tests.conftest import make_link

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
