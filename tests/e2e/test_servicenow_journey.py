"""The ServiceNow journey in a real browser against the real processes: a Manager disconnects
Jira and connects ServiceNow; a Reporter creates an incident; an Author links one by URL,
acknowledges, comments and archives. The ServiceNow simulator must then hold exactly the work
notes the product promised, in order."""

from __future__ import annotations

import io
import re
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from anomalies.models import Anomaly
from integrations.models import SyncEvent, TicketingIntegration
from tests.conftest import SIM_EMAIL, SIM_TOKEN, SN_PASSWORD, SN_USERNAME

from .conftest import People, Stack, active_anomaly_every_team_sees

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MARKER_LINE = re.compile(r"\n\n\[qualytics-event:[^\]]+\]$")
DELIVERY_SECONDS = 30


@pytest.fixture(scope="module")
def servicenow(e2e_stack: Stack):
    """The ServiceNow simulator in a process of its own, stopped with the rest of the stack."""
    return e2e_stack.processes.servicenow_simulator(username=SN_USERNAME, password=SN_PASSWORD)


@pytest.fixture
def jira_connected(e2e_stack: Stack) -> None:
    call_command("seed_demo", anomalies=20, stdout=io.StringIO())
    from anomalies.models import User

    TicketingIntegration.objects.create(
        connector="jira",
        host_url=e2e_stack.jira_url,
        credentials=f"{SIM_EMAIL}:{SIM_TOKEN}",
        default_project_key="DQ",
        account_name="Quality Bot",
        connected_by=User.objects.get(username="manager"),
        connected_at=timezone.now(),
    )


@pytest.fixture
def active_anomaly(jira_connected) -> Anomaly:
    return active_anomaly_every_team_sees()


def test_it_turns_an_anomaly_into_servicenow_work(
    people: People, e2e_stack: Stack, servicenow, active_anomaly
):
    servicenow.control.reset()

    manager_switches_to_servicenow(people, servicenow.url)
    created = reporter_creates_incident(people, active_anomaly)
    author_works_the_anomaly(people, active_anomaly, servicenow)

    incident = servicenow.control.incident(created)
    assert incident["short_description"] == "Null customer_id values in orders"
    assert f"/anomalies/{active_anomaly.pk}" in incident["description"]
    bodies = [e.body for e in SyncEvent.objects.filter(link__issue_key="INC0010003").order_by("pk")]
    assert len(bodies) == 3
    assert notes(servicenow, "INC0010003") == bodies
    assert notes(servicenow, created) == bodies


def manager_switches_to_servicenow(people: People, servicenow_url: str) -> None:
    page = people.sign_in("manager")
    page.goto("/settings/integrations/")
    page.get_by_role("link", name="Disconnect").click()
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("status")).to_contain_text("was disconnected")
    page.get_by_role("link", name="Connect ServiceNow").click()

    page.get_by_label("Host URL").fill(servicenow_url)
    page.get_by_label("Credentials").fill("readonly.viewer:viewer-password")
    page.get_by_label("Default assignment group").fill("Data Quality")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text("itil role")
    people.screenshot(page, "servicenow-read-only-refused")

    page.get_by_label("Credentials").fill(f"{SN_USERNAME}:{SN_PASSWORD}")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The integration has been successfully created."
    )
    people.screenshot(page, "servicenow-connected")


def reporter_creates_incident(people: People, anomaly: Anomaly) -> str:
    page = people.sign_in("reporter")
    page.goto(f"/anomalies/{anomaly.pk}/")
    page.get_by_role("link", name="Create ServiceNow ticket").click()
    form = page.locator("#create-ticket")
    form.locator("[name=summary]").fill("Null customer_id values in orders")
    form.locator("[name=description]").fill("Loader job skipped the customer lookup.")
    form.locator("[name=urgency]").select_option("2")
    form.locator("[name=impact]").select_option("2")
    people.screenshot(page, "servicenow-create-filled")
    form.locator("[name=summary]").press("Enter")
    message = page.get_by_role("status")
    expect(message).to_contain_text(re.compile(r"INC\d{7}"))
    return re.search(r"INC\d{7}", message.inner_text()).group()


def author_works_the_anomaly(people: People, anomaly: Anomaly, servicenow) -> None:
    sys_id = servicenow.control.incident("INC0010003")["sys_id"]
    page = people.sign_in("author")
    page.goto(f"/anomalies/{anomaly.pk}/")
    linked = page.locator("#linked-tickets")
    linked.get_by_label("Link an existing ServiceNow incident").fill(
        f"{servicenow.url}/now/sow/record/incident/{sys_id}"
    )
    linked.get_by_role("button", name="Link existing").click()
    expect(page.locator("li.ticket[data-key='INC0010003']")).to_be_visible()

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Anomaly acknowledged.")
    page.locator("#comments textarea").fill("Upstream loader fixed; backfill running.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_contain_text("Comment added.")
    page.locator("summary", has_text="Archive…").click()
    page.get_by_label("Reason").select_option("Resolved")
    page.get_by_label("Note").fill("Backfilled 12 rows.")
    page.get_by_role("button", name="Archive anomaly").click()
    expect(page.get_by_role("status")).to_contain_text("Anomaly archived as Resolved.")

    deadline = time.monotonic() + DELIVERY_SECONDS
    while time.monotonic() < deadline and len(notes(servicenow, "INC0010003")) < 3:
        time.sleep(0.5)
    people.screenshot(page, "servicenow-archived")


def notes(servicenow, number: str) -> list[str]:
    """The product's work notes on ``number``, the marker line taken off."""
    texts = servicenow.control.work_notes(number)
    return [MARKER_LINE.sub("", text) for text in texts if MARKER_LINE.search(text)]
