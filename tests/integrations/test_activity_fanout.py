"""An action on an anomaly with N linked tickets is one timeline entry, with each ticket's
outcome folded in; the per-ticket sync log stays in Linked Tickets."""

from datetime import timedelta
from http import HTTPStatus

from django.urls import reverse

from anomalies import services as anomaly_services
from integrations.models import SyncEvent
from integrations.services.sync import deliver_sync_event
from tests.conftest import make_link
from tests.integrations import page


def activity(client, anomaly):
    response = client.get(reverse("anomalies:detail", args=[anomaly.pk]))
    assert response.status_code == HTTPStatus.OK
    return page.element(page.parse(response), "section", id="activity")


def entries(section) -> list[str]:
    return [page.text(li) for li in page.elements(section, "li", class_="timeline-entry")]


def link_three(anomaly, integration) -> None:
    for number in (1, 2, 3):
        make_link(anomaly, integration, f"DQ-{number}", issue_id=str(10000 + number))


def test_it_shows_one_entry_for_an_action_on_three_tickets(
    client, anomaly, member_author, jira_sim, jira_integration
):
    link_three(anomaly, jira_integration)
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    dq1, dq2, _pending_dq3 = SyncEvent.objects.order_by("link__issue_key")
    for event in (dq1, dq2):
        assert deliver_sync_event(event.pk) == "delivered"
    client.force_login(member_author)

    shown = entries(activity(client, anomaly))

    assert shown == [
        f"{member_author} Acknowledged now comment delivered to DQ-1, DQ-2; pending on DQ-3"
    ]
    # The worker's per-ticket lines stay in the stored history (the API, the admin).
    assert anomaly.history.filter(action="sync_delivered").count() == 2


def test_it_folds_a_comments_outcomes_under_its_text_with_the_reason_of_a_failure(
    client, anomaly, member_author, jira_integration
):
    link_three(anomaly, jira_integration)
    anomaly_services.comment_on_anomaly(anomaly, by=member_author, text="Backfill done")
    events = list(SyncEvent.objects.order_by("link__issue_key"))
    events[0].mark_delivered("1", at=events[0].created_at)
    events[2].finish("failed", reason="Jira rejected the comment.")
    client.force_login(member_author)

    section = activity(client, anomaly)

    (entry,) = entries(section)
    assert entry.startswith(f"{member_author} Commented")
    assert "Backfill done" in entry
    assert entry.endswith(
        "comment delivered to DQ-1; pending on DQ-2; failed on DQ-3 (Jira rejected the comment)"
    )
    outcome = page.element(section, "span", class_="fanout")
    assert page.attribute(outcome, "id") == f"fanout-{events[0].pk}"  # the live region


def test_it_names_the_connector_for_a_change_older_than_the_history_shown(
    client, anomaly, member_author, jira_integration
):
    link_three(anomaly, jira_integration)
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    anomaly.history.all().delete()  # as if the change were older than the history shown
    client.force_login(member_author)

    (entry,) = entries(activity(client, anomaly))

    assert entry.startswith("System Acknowledgement to Jira")
    assert entry.endswith("comment pending on DQ-1, DQ-2, DQ-3")


def test_it_folds_into_history_written_a_moment_after_the_change(
    client, anomaly, member_author, jira_integration
):
    link_three(anomaly, jira_integration)
    anomaly_services.acknowledge_anomaly(anomaly, by=member_author)
    # History from before entries carried the change's own time: a few milliseconds later.
    entry = anomaly.history.get(action="acknowledged")
    entry.created_at += timedelta(milliseconds=40)
    entry.save(update_fields=["created_at"])
    client.force_login(member_author)

    (shown,) = entries(activity(client, anomaly))

    assert shown.startswith(f"{member_author} Acknowledged")
    assert shown.endswith("comment pending on DQ-1, DQ-2, DQ-3")
