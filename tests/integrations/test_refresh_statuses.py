"""Refreshing the Jira status of linked tickets: in bulk, on demand, and right after linking."""

from http import HTTPStatus

from django.urls import reverse
from django.utils import timezone

from integrations import services
from integrations.jira.connector import client_for
from integrations.models import StatusCategory, TicketLink
from tests.integrations import page

SEARCH_PATH = "/rest/api/3/search/jql"


def requests_to(jira_sim, method: str, path_prefix: str) -> list[dict]:
    return [
        entry
        for entry in jira_sim.control.requests()
        if entry["method"] == method and entry["path"].startswith(path_prefix)
    ]


def searches(jira_sim) -> list[dict]:
    return requests_to(jira_sim, "POST", SEARCH_PATH)


def link_issue(anomaly, key, *, integration, by) -> TicketLink:
    return services.link_existing_issue(anomaly, key, integration=integration, by=by)


def create_dq_issues(integration, count: int) -> None:
    with client_for(integration) as client:
        for number in range(count):
            client.create_issue(
                {"project": {"key": "DQ"}, "issuetype": {"id": "10001"}, "summary": f"#{number}"}
            )


def link_every_dq_issue(anomaly, integration, jira_sim) -> int:
    """One link per DQ issue in Jira, stored directly (as if linked long ago, never synced)."""
    dq_issues = [issue for issue in jira_sim.control.issues() if issue["key"].startswith("DQ-")]
    TicketLink.objects.bulk_create(
        TicketLink(
            anomaly=anomaly,
            integration=integration,
            origin=TicketLink.Origin.LINKED,
            issue_id=issue["id"],
            issue_key=issue["key"],
            url=issue["browseUrl"],
            linked_at=timezone.now(),
        )
        for issue in dq_issues
    )
    return len(dq_issues)


# --- the service ---------------------------------------------------------------------------


def test_it_refreshes_250_links_in_three_searches(anomaly, jira_sim, jira_integration):
    create_dq_issues(jira_integration, 247)  # DQ-1..DQ-3 are seeded
    assert link_every_dq_issue(anomaly, jira_integration, jira_sim) == 250
    jira_sim.control.clear_requests()

    refreshed = services.refresh_ticket_statuses()

    assert refreshed == 250
    assert len(searches(jira_sim)) == 3
    assert requests_to(jira_sim, "GET", "/rest/api/3/issue") == []
    links = TicketLink.objects.all()
    assert not links.filter(last_synced_at__isnull=True).exists()
    assert not links.exclude(broken_reason="").exists()
    assert set(links.values_list("status_name", flat=True)) == {"To Do", "In Progress", "Done"}


def test_it_picks_up_a_status_changed_in_jira(anomaly, member_author, jira_sim, jira_integration):
    linked = link_issue(anomaly, "DQ-1", integration=jira_integration, by=member_author)
    first_sync = linked.last_synced_at
    jira_sim.control.move_issue("DQ-1", status="Done")

    services.refresh_ticket_statuses([linked.pk])

    linked.refresh_from_db()
    assert (linked.status_name, linked.status_category) == ("Done", StatusCategory.DONE)
    assert linked.last_synced_at > first_sync


def test_it_keeps_following_an_issue_moved_to_another_project(
    anomaly, member_author, jira_sim, jira_integration
):
    linked = link_issue(anomaly, "DQ-1", integration=jira_integration, by=member_author)
    jira_sim.control.move_issue("DQ-1", project="OPS", status="In Progress")

    services.refresh_ticket_statuses([linked.pk])

    linked.refresh_from_db()
    assert not linked.is_broken
    assert linked.status_name == "In Progress"


def test_it_leaves_links_of_a_disconnected_integration_alone(
    anomaly, member_author, manager, jira_sim, jira_integration
):
    linked = link_issue(anomaly, "DQ-1", integration=jira_integration, by=member_author)
    services.disconnect_integration(jira_integration, by=manager)
    jira_sim.control.clear_requests()

    assert services.refresh_ticket_statuses() == 0
    assert jira_sim.control.requests() == []
    linked.refresh_from_db()
    assert linked.status_name == "To Do"


# --- the Refresh button ------------------------------------------------------------------


def test_it_lets_a_reporter_refresh_the_statuses(
    client, anomaly, member_author, member_reporter, jira_sim, jira_integration
):
    link_issue(anomaly, "DQ-2", integration=jira_integration, by=member_author)
    jira_sim.control.move_issue("DQ-2", status="Done")
    client.force_login(member_reporter)
    anomaly_url = reverse("anomalies:detail", args=[anomaly.pk])
    refresh_url = reverse("integrations:refresh", args=[anomaly.pk])
    assert page.element(page.parse(client.get(anomaly_url)), "form", action=refresh_url)

    response = client.post(refresh_url, follow=True)

    assert response.status_code == HTTPStatus.OK
    root = page.parse(response)
    assert "Refreshed 1 linked ticket." in page.messages(root)
    ticket = page.element(root, "li", **{"data-key": "DQ-2"})
    assert page.text(page.element(ticket, "span", class_="badge")) == "Done"


def test_it_hides_the_refresh_from_outsiders(client, anomaly, outsider, jira_integration):
    client.force_login(outsider)

    response = client.post(reverse("integrations:refresh", args=[anomaly.pk]))

    assert response.status_code == HTTPStatus.NOT_FOUND


# --- right after linking (Celery) --------------------------------------------------------


def test_it_refreshes_the_status_right_after_linking(
    client,
    anomaly,
    member_author,
    jira_sim,
    jira_integration,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client.force_login(member_author)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": "DQ-1"})

    assert len(callbacks) == 1
    (search,) = searches(jira_sim)  # integrations.tasks.refresh_ticket_statuses ran
    assert search["status"] == HTTPStatus.OK
    assert TicketLink.objects.get(anomaly=anomaly).status_name == "To Do"
