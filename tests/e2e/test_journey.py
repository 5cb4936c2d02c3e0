"""The journey a data team makes, in a real browser against the real processes.

A Manager connects Jira; a Reporter creates a ticket from an anomaly; an Author links a second
issue, acknowledges, comments, removes that link and archives. Then Jira (the simulator) must
hold exactly the issues and comments the product promised, byte for byte and in order.
"""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect

from anomalies.models import Anomaly, Comment
from integrations.models import SyncEvent, SyncState
from simulators.jira import SimulatorControl

from .conftest import People, Stack, active_anomaly_every_team_sees

# Committed data, since the servers read it; the rows migrations made (the Public team)
# are reloaded before each test, as the previous one's flush removed them.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CREDENTIALS = "bot@example.com:sim-token"
WRONG_CREDENTIALS = "bot@example.com:not-the-token"
SUMMARY = "Null customer_id values in orders"
DESCRIPTION = "Loader job skipped the customer lookup.\nPlease check last night's run."
LABELS = ["nightly-load", "orders"]
COMMENT = "Upstream loader fixed; backfill running."
ARCHIVE_NOTE = "Backfilled 12 rows from the CRM export."
AUTHOR_NAME = "Author Member"  # the demo's full name for the login "author"
DELIVERY_SECONDS = 30


@pytest.fixture
def demo() -> None:
    """The demo people, teams and 20 anomalies, committed so the servers see them."""
    call_command("seed_demo", anomalies=20, stdout=io.StringIO())


@pytest.fixture
def active_anomaly(demo) -> Anomaly:
    """An Active anomaly on a datastore that every demo team can see."""
    return active_anomaly_every_team_sees()


def test_it_turns_an_anomaly_into_jira_work(people: People, e2e_stack: Stack, active_anomaly):
    jira = e2e_stack.jira
    statuses_before = issue_statuses(jira)
    dq1_before = comment_texts(jira, "DQ-1")

    manager_connects_jira(people, e2e_stack.jira_url)
    created_key = reporter_creates_ticket(people, active_anomaly, e2e_stack.jira_url)
    author_works_the_anomaly(people, active_anomaly, e2e_stack.jira_url, created_key)

    # One new issue; no issue's status changed (the Jira workflow stays the team's own).
    assert issue_statuses(jira) == {**statuses_before, created_key: "To Do"}
    assert list(issue_statuses(jira)) == [*statuses_before, created_key]
    assert_created_issue(jira.issue(created_key), active_anomaly, e2e_stack.site_url)
    said = expected_comments(active_anomaly, created_key)
    assert comment_texts(jira, created_key) == [said["ack"], said["comment"], said["archive"]]
    # DQ-1's link was removed before archiving: it got nothing after that.
    assert comment_texts(jira, "DQ-1") == [*dq1_before, said["ack"], said["comment"]]


def test_it_hides_anomalies_and_settings_from_those_without_access(people, active_anomaly):
    outsider = people.sign_in("outsider")
    response = outsider.goto(f"/anomalies/{active_anomaly.pk}/")
    assert response.status == HTTPStatus.NOT_FOUND
    expect(outsider.get_by_role("heading", name="Not found")).to_be_visible()
    people.screenshot(outsider, "outsider-404")

    member = people.sign_in("author")
    expect(member.get_by_role("link", name="Anomalies")).to_be_visible()
    expect(member.get_by_role("link", name="Settings")).to_have_count(0)
    response = member.goto("/settings/integrations/")
    assert response.status == HTTPStatus.FORBIDDEN
    expect(member.get_by_role("heading", name="You can't do that here")).to_be_visible()
    people.screenshot(member, "member-403")


# --- the people's steps -------------------------------------------------------------------


PRESS_AND_LOOK = """(name) => new Promise((resolve) => {
  const button = [...document.querySelectorAll("button")].find((b) => b.textContent === name);
  button.click();
  setTimeout(() => resolve({text: button.textContent, disabled: button.disabled}), 100);
})"""


def manager_connects_jira(people: People, jira_url: str) -> None:
    page = people.sign_in("manager")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    page.get_by_role("link", name="Connect Jira").click()

    page.get_by_label("Host URL").fill(jira_url)
    page.get_by_label("Credentials").fill(WRONG_CREDENTIALS)
    page.get_by_label("Default project key").fill("DQ")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Incorrect credentials: verify the email:api_token format"
    )
    people.screenshot(page, "connect-401")

    page.get_by_label("Credentials").fill(CREDENTIALS)  # never rendered back, so typed again
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status")).to_contain_text(
        "The integration has been successfully created."
    )
    people.screenshot(page, "connected")

    # While Jira is slow to answer, the button says the test is under way and cannot be
    # pressed again (static/js/busy-submit.js). Read in the page itself: Playwright waits for
    # the pending navigation before it looks again.
    SimulatorControl(jira_url).add_fault("delay", path_regex=r"/mypermissions$", seconds=1.5)
    while_waiting = page.evaluate(PRESS_AND_LOOK, "Test connection")
    assert while_waiting == {"text": "Testing…", "disabled": True}
    expect(page.get_by_role("status")).to_contain_text("Connection test passed.")
    page.locator("details.test-results summary").click()
    checks = page.locator("details.test-results li.check")
    expect(checks).to_have_count(4)  # sign-in, project, permissions, issue types
    expect(page.locator("details.test-results li.check-ok")).to_have_count(4)
    people.screenshot(page, "test-passed")


def reporter_creates_ticket(people: People, anomaly: Anomaly, jira_url: str) -> str:
    page = people.sign_in("reporter")
    page.goto(f"/anomalies/{anomaly.pk}/")
    expect(page.get_by_role("heading", name=f"Anomaly #{anomaly.pk}")).to_be_visible()
    page.get_by_role("link", name="Create Jira ticket").click()
    form = page.locator("#create-ticket")
    expect(form.locator("[name=project]")).to_have_value("DQ")

    # A project or type switch reloads only the fields that follow it (htmx), in place.
    in_place(page, lambda: form.locator("[name=project]").select_option("OPS"))
    expect(form.locator("[name=issue_type] option")).to_contain_text(["Task", "Bug", "Incident"])
    form.get_by_label("Summary").fill(SUMMARY)
    people.screenshot(page, "create-on-ops")
    in_place(page, lambda: form.locator("[name=project]").select_option("DQ"))
    expect(form.get_by_label("Summary")).to_have_value(SUMMARY)  # kept across the reload
    in_place(page, lambda: form.locator("[name=issue_type]").select_option(label="Bug"))

    form.get_by_label("Description").fill(DESCRIPTION)
    form.locator("[name=priority]").select_option(label="High")
    form.get_by_label("Labels").fill(", ".join(LABELS))
    # The assignee typeahead (static/js/typeahead.js): matches as you type, Enter chooses.
    form.get_by_label("Find assignee").press_sequentially("ali", delay=40)
    expect(page.get_by_role("option", name="Alice Andersen")).to_be_visible()
    form.get_by_label("Find assignee").press("ArrowDown")
    form.get_by_label("Find assignee").press("Enter")
    expect(form.locator("[name=assignee]")).to_have_value("712020:sim-alice")
    people.screenshot(page, "create-filled")

    form.get_by_label("Summary").press("Enter")  # Enter creates: Create is the default button
    message = page.get_by_role("status")
    expect(message).to_contain_text(re.compile(r"Created Jira issue DQ-\d+ and linked it\."))
    key = re.search(r"DQ-\d+", message.inner_text()).group()
    ticket = page.locator(f"li.ticket[data-key='{key}']")
    expect(ticket.locator(".ticket-summary")).to_have_text(SUMMARY)
    key_link = ticket.get_by_role("link", name=key)
    expect(key_link).to_have_attribute("href", f"{jira_url}/browse/{key}")
    expect(key_link).to_have_attribute("target", "_blank")
    reload_until(page, ticket.locator(".badge"), "To Do")
    people.screenshot(page, "ticket-created")
    return key


def author_works_the_anomaly(people: People, anomaly: Anomaly, jira_url: str, created: str):
    page = people.sign_in("author")
    page.goto(f"/anomalies/{anomaly.pk}/")
    linked = page.locator("#linked-tickets")

    linked.get_by_label("Link an existing Jira issue").fill(f"{jira_url}/browse/DQ-1")
    linked.get_by_role("button", name="Link existing").click()
    expect(page.get_by_role("status")).to_contain_text("Linked Jira issue DQ-1.")
    dq1 = page.locator("li.ticket[data-key='DQ-1']")
    expect(dq1).to_be_visible()
    people.screenshot(page, "linked-dq1")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Anomaly acknowledged.")
    page.locator("#comments textarea").fill(COMMENT)
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_contain_text("Comment added.")

    # Removing a link cancels what is still pending for it; wait until Jira has it all.
    reload_until(page, dq1.locator(".sync-state"), "All 2 comments delivered")
    people.screenshot(page, "acknowledged-and-commented")
    dq1.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("Removed the link to DQ-1.")
    expect(dq1).to_have_count(0)

    page.locator("summary", has_text="Archive…").click()
    page.get_by_label("Reason").select_option("Resolved")
    page.get_by_label("Note").fill(ARCHIVE_NOTE)
    page.get_by_role("button", name="Archive anomaly").click()
    expect(page.get_by_role("status")).to_contain_text("Anomaly archived as Resolved.")
    ticket = page.locator(f"li.ticket[data-key='{created}']")
    reload_until(page, ticket.locator(".sync-state"), "All 3 comments delivered")
    people.screenshot(page, "archived-and-delivered")


# --- waiting as a person would: reload and look again -------------------------------------


def in_place(page: Page, action) -> None:
    """Do something htmx answers in place, and wait until the answer is swapped in and
    live; the page must not have reloaded."""
    page.evaluate("window.__samePage = true")
    action()
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    expect(page.locator(busy)).to_have_count(0)
    assert page.evaluate("window.__samePage === true"), "the page reloaded"


def reload_until(page: Page, target: Locator, text: str) -> None:
    deadline = time.monotonic() + DELIVERY_SECONDS
    while text not in target.inner_text():
        if time.monotonic() > deadline:
            pytest.fail(f"after {DELIVERY_SECONDS}s the page still shows {target.inner_text()!r}")
        time.sleep(0.5)
        page.reload()


# --- what Jira must hold ------------------------------------------------------------------


def issue_statuses(jira) -> dict[str, str]:
    return {issue["key"]: issue["fields"]["status"]["name"] for issue in jira.issues()}


def comment_texts(jira, key: str) -> list[str]:
    return [comment["text"] for comment in jira.comments(key)]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def expected_comments(anomaly: Anomaly, created_key: str) -> dict[str, str]:
    """The three comments, with the times the app stamped on the changes."""
    anomaly.refresh_from_db()
    acknowledged = SyncEvent.objects.get(link__issue_key=created_key, kind="acknowledged")
    comment = Comment.objects.get(anomaly=anomaly)
    assert not SyncEvent.objects.exclude(state=SyncState.DELIVERED).exists()
    return {
        "ack": f"[{utc(acknowledged.created_at)}] Qualytics Anomaly Status: Acknowledged",
        "comment": f"[{utc(comment.created_at)}] Comment from Qualytics ({AUTHOR_NAME}): {COMMENT}",
        "archive": (
            f"[{utc(anomaly.status_changed_at)}] Qualytics Anomaly Status: Resolved\n"
            f"Note: {ARCHIVE_NOTE}"
        ),
    }


def assert_created_issue(issue: dict, anomaly: Anomaly, site_url: str) -> None:
    fields = issue["fields"]
    assert fields["project"]["key"] == "DQ"
    assert fields["issuetype"]["name"] == "Bug"
    assert fields["summary"] == SUMMARY
    assert fields["priority"]["name"] == "High"
    assert fields["labels"] == LABELS
    assert fields["assignee"]["displayName"] == "Alice Andersen"
    description = adf_text(fields["description"])
    assert description.startswith(DESCRIPTION.replace("\n", " "))
    assert f"Anomaly ID: {anomaly.pk} ({anomaly.uuid})" in description
    assert f"{site_url}/anomalies/{anomaly.pk}/" in description


def adf_text(node) -> str:
    """All text of an ADF document, words separated by single spaces."""
    if isinstance(node, list):
        return " ".join(adf_text(child) for child in node)
    if node.get("type") == "text":
        return node["text"]
    return " ".join(" ".join(adf_text(child) for child in node.get("content", [])).split())
