"""A status refresh writes back only what changed, in bounded batches."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import services
from integrations.models import TicketLink
from integrations.services import refresh_writes
from tests.integrations.test_refresh_statuses import create_dq_issues, link_every_dq_issue


def updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "integrations_ticketlink"')]


def test_it_writes_only_the_changed_links_in_batches(
    anomaly, jira_sim, jira_integration, monkeypatch
):
    monkeypatch.setattr(refresh_writes, "REFRESH_WRITE_BATCH", 4)
    create_dq_issues(jira_integration, 7)  # DQ-1..DQ-10
    link_every_dq_issue(anomaly, jira_integration, jira_sim)
    services.refresh_ticket_statuses()  # every link gets its first status
    first = dict(TicketLink.objects.values_list("issue_key", "last_synced_at"))
    jira_sim.control.move_issue("DQ-2", status="Done")
    jira_sim.control.move_issue("DQ-9", status="In Progress")

    with CaptureQueriesContext(connection) as queries:
        assert services.refresh_ticket_statuses() == 10

    status_writes = [sql for sql in updates(queries) if "status_name" in sql.split(" WHERE ")[0]]
    time_writes = [sql for sql in updates(queries) if sql not in status_writes]
    assert len(status_writes) == 1  # the two changed links, one statement
    assert len(time_writes) == 2  # the eight others: "synced at" only, 4 per statement
    links = {link.issue_key: link for link in TicketLink.objects.all()}
    assert (links["DQ-2"].status_name, links["DQ-9"].status_name) == ("Done", "In Progress")
    assert all(links[key].last_synced_at > first[key] for key in links)


def test_it_writes_a_first_refresh_in_batches(anomaly, jira_sim, jira_integration, monkeypatch):
    monkeypatch.setattr(refresh_writes, "REFRESH_WRITE_BATCH", 4)
    create_dq_issues(jira_integration, 7)
    link_every_dq_issue(anomaly, jira_integration, jira_sim)

    with CaptureQueriesContext(connection) as queries:
        services.refresh_ticket_statuses()

    assert len(updates(queries)) == 3  # 10 new statuses, at most 4 rows per statement
    assert not TicketLink.objects.filter(last_synced_at__isnull=True).exists()
