"""Refresh tells the truth: a refresh Jira could not answer is an error with its reason, an
Unknown status shows why in visible text, a credential failure and a deleted issue are told
apart, and a broken reference offers no Retry. Over real HTTP to the Jira simulator."""

from django.urls import reverse

from anomalies.services import acknowledge_anomaly
from integrations import services
from integrations.jira.errors import HINT_CREDENTIALS
from tests.conftest import SIM_EMAIL
from tests.integrations import page
from tests.integrations.test_linked_tickets_section import (
    anomaly_page,
    link_issues,
    refresh,
    ticket,
)


def refreshed(client, anomaly):
    return page.parse(refresh(client, anomaly, follow=True))


def error_messages(root) -> list[str]:
    return [
        page.text(box)
        for box in page.elements(root, "li", class_="message-error")
        if "message" in page.classes(box)
    ]


def test_it_reports_a_failed_refresh_as_an_error_with_the_reason(
    client, anomaly, member_author, jira_sim, jira_integration
):
    link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    jira_sim.control.add_unavailable(method="POST", path_regex="/search/jql$")
    client.force_login(member_author)

    root = refreshed(client, anomaly)

    (error,) = error_messages(root)
    assert error.startswith("The statuses could not be refreshed: Jira is unavailable.")
    assert not any(text.startswith("Refreshed") for text in page.messages(root))


def test_it_tells_rejected_credentials_apart_from_a_missing_issue(
    client, anomaly, member_author, jira_sim, jira_integration
):
    link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    # Jira answers a rejected login as an anonymous search: 400 "An issue with key … does
    # not exist", flagged AUTHENTICATED_FAILED. That text must not pass for the reason.
    jira_sim.control.set_jql_unknown_keys("error")
    jira_integration.credentials = f"{SIM_EMAIL}:revoked-token"
    jira_integration.save(update_fields=["credentials"])
    client.force_login(member_author)

    root = refreshed(client, anomaly)

    (error,) = error_messages(root)
    assert "Jira rejected the credentials. (HTTP 400)" in error
    assert HINT_CREDENTIALS in error
    assert "does not exist" not in error
    item = ticket(anomaly_page(client, anomaly), "DQ-1")
    assert "ticket-broken" not in page.classes(item)
    reason = page.text(page.element(item, "span", class_="status-reason"))
    assert reason.startswith("status unknown: Jira rejected the credentials.")


def test_it_reports_a_deleted_issue_as_missing_not_as_a_credential_failure(
    client, anomaly, member_author, jira_sim, jira_integration
):
    link_issues(anomaly, ["DQ-1", "DQ-2"], integration=jira_integration, by=member_author)
    jira_sim.control.delete_issue("DQ-1")
    client.force_login(member_author)

    root = refreshed(client, anomaly)

    assert error_messages(root) == []
    messages = page.messages(root)
    assert any("1 linked issue was not found in Jira" in text for text in messages)
    assert "Refreshed 1 linked ticket." in messages


def test_it_shows_why_a_status_was_never_fetched(client, anomaly, member_author, jira_integration):
    from tests.conftest import make_link

    make_link(anomaly, jira_integration, "DQ-1")
    client.force_login(member_author)

    item = ticket(anomaly_page(client, anomaly), "DQ-1")

    reason = page.element(item, "span", class_="status-reason")
    assert page.text(reason) == "status unknown: not read from Jira yet"


def test_it_offers_no_retry_for_a_broken_reference(
    client, anomaly, member_author, jira_sim, jira_integration, django_capture_on_commit_callbacks
):
    (link,) = link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    jira_sim.control.delete_issue("DQ-1")
    services.refresh_ticket_statuses([link.pk])
    with django_capture_on_commit_callbacks(execute=False):
        acknowledge_anomaly(anomaly, by=member_author)  # fails at once: a broken reference
    client.force_login(member_author)

    item = ticket(anomaly_page(client, anomaly), "DQ-1")

    assert "Failed:" in page.text(item)
    assert "remove the link or relink" in page.text(item)
    retry_buttons = [
        button
        for button in page.elements(item, "button")
        if "/retry/" in (page.attribute(button, "formaction") or "")
    ]
    assert retry_buttons == []
    assert page.element(item, "form", action=reverse("integrations:remove_link", args=[link.pk]))


def test_it_refuses_to_retry_an_event_of_a_broken_reference(
    client, anomaly, member_author, jira_sim, jira_integration, django_capture_on_commit_callbacks
):
    from integrations.models import SyncEvent
    from tests.api import api_client

    (link,) = link_issues(anomaly, ["DQ-1"], integration=jira_integration, by=member_author)
    jira_sim.control.delete_issue("DQ-1")
    services.refresh_ticket_statuses([link.pk])
    with django_capture_on_commit_callbacks(execute=False):
        acknowledge_anomaly(anomaly, by=member_author)
    (event,) = SyncEvent.objects.filter(link=link)
    client.force_login(member_author)

    page_answer = client.post(reverse("integrations:retry_event", args=[event.pk]), follow=True)
    api_answer = api_client(client, member_author).post(
        reverse("integrations_api:retry_event", args=[event.pk])
    )

    assert "retrying cannot help. Remove the link or relink." in page_answer.text
    assert api_answer.status_code == 409
    event.refresh_from_db()
    link.refresh_from_db()
    assert (event.state, link.is_broken) == ("failed", True)
