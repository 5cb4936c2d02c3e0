"""Bulk actions and the Jira outbox: every comment queued as a single action queues it,
handed to workers once per Jira issue, delivered exactly once and in order."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from anomalies import bulk_runs
from anomalies.models import Anomaly, Container, Datastore, Level, Status
from anomalies.tasks import run_bulk
from integrations import tasks
from integrations.models import SyncEvent, SyncState, TicketLink
from integrations.services import sync
from tests.conftest import grant, make_anomaly, make_link

BULK_URL = reverse("anomalies:bulk")


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The event ids handed to the broker, in order."""
    calls: list[int] = []

    def record(event_id: int, *, countdown: float | None = None) -> bool:
        calls.append(event_id)
        return True

    monkeypatch.setattr(sync, "enqueue_delivery", record)
    return calls


def run_worker(enqueued: list[int]) -> list[str]:
    outcomes = []
    while enqueued:
        outcomes.append(tasks.deliver_sync_event(enqueued.pop(0)))
        assert len(outcomes) < 1000, "the queue never drained"
    return outcomes


def summary_on(page) -> str:
    """The run page's finished message."""
    html = page.content.decode()
    start = html.index('<p class="message')
    return html[html.index(">", start) + 1 : html.index("</p>", start)]


def linked(container, integration, key: str, count: int) -> list:
    issue = integration_issue(integration, key)
    anomalies = [make_anomaly(container) for _ in range(count)]
    for anomaly in anomalies:
        make_link(anomaly, integration, key, issue_id=issue["id"])
    return anomalies


def integration_issue(integration, key: str) -> dict:
    from simulators.jira import SimulatorControl

    return SimulatorControl(integration.host_url).issue(key)


@pytest.fixture
def lake(db) -> Container:
    return Container.objects.create(datastore=Datastore.objects.create(name="Lake"), name="ev")


# Real commits, as in production; serialized_rollback puts back what the migrations created
# (the Public team) after the tables are emptied, like every transactional test here.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_acknowledges_200_across_two_datastores_and_delivers_each_comment_once_in_order(
    client: Client, member_author, orders, lake, jira_integration, jira_sim, enqueued, monkeypatch
):
    grant(member_author, lake.datastore, Level.AUTHOR)
    selection = [*linked(orders, jira_integration, "DQ-2", 100)]
    selection += linked(lake, jira_integration, "DQ-3", 100)
    already = make_anomaly(orders, status=Status.ACKNOWLEDGED)
    handed_out: list[int] = []
    monkeypatch.setattr(bulk_runs, "publish", lambda task, run_id: handed_out.append(run_id))
    client.force_login(member_author)

    # 201 anomalies: more than the request carries out itself; a worker does.
    answer = client.post(
        BULK_URL,
        {
            "action": "acknowledge",
            "scope": "selected",
            "ids": [a.pk for a in [*selection, already]],
        },
    )
    run_page = answer["Location"]
    assert "Waiting for a worker" in client.get(run_page).content.decode()
    assert not Anomaly.objects.filter(pk=selection[0].pk, status=Status.ACKNOWLEDGED).exists()
    [run_id] = handed_out
    assert run_bulk(run_id) == "done"

    assert summary_on(client.get(run_page)) == (
        "200 acknowledged, 1 skipped: already acknowledged; 200 Jira comments queued."
    )
    # One broker message per Jira issue (the head of its queue), not one per event.
    heads = SyncEvent.objects.order_by("pk")
    assert sorted(enqueued) == sorted(
        heads.filter(remote_issue=remote).first().pk
        for remote in set(heads.values_list("remote_issue", flat=True))
    )
    run_worker(enqueued)

    for key in ("DQ-2", "DQ-3"):
        events = list(SyncEvent.objects.filter(link__issue_key=key).order_by("pk"))
        assert {event.state for event in events} == {SyncState.DELIVERED}
        delivered = [int(event.remote_note_id) for event in events]
        assert delivered == sorted(delivered), "Jira received them out of order"
        in_jira = [int(comment["id"]) for comment in jira_sim.control.comments(key)]
        assert sorted(in_jira) == delivered, "a comment is missing or doubled in Jira"


def test_it_links_every_selected_anomaly_to_one_issue(
    client, member_author, orders, jira_integration, enqueued
):
    first, second = make_anomaly(orders), make_anomaly(orders)
    client.force_login(member_author)

    response = client.post(
        BULK_URL,
        {
            "action": "link_issue",
            "scope": "selected",
            "ids": [first.pk, second.pk],
            "issue_key": "dq-2",
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["2 linked; linked to DQ-2."]
    assert sorted(TicketLink.objects.values_list("anomaly_id", "issue_key")) == [
        (first.pk, "DQ-2"),
        (second.pk, "DQ-2"),
    ]


def test_it_creates_one_issue_for_several_anomalies_and_links_each(
    client, member_reporter, orders, jira_integration, jira_sim, enqueued
):
    first, second = make_anomaly(orders), make_anomaly(orders)
    client.force_login(member_reporter)

    response = client.post(
        BULK_URL,
        {
            "action": "create_issue",
            "scope": "selected",
            "ids": [first.pk, second.pk],
            "summary": "Orders lost customers",
            "token": "form-1",
        },
        follow=True,
    )

    (message,) = [str(m) for m in response.context["messages"]]
    links = list(TicketLink.objects.order_by("anomaly_id"))
    assert [link.anomaly_id for link in links] == [first.pk, second.pk]
    assert len({link.issue_key for link in links}) == 1
    key = links[0].issue_key
    assert message == f"2 linked to the new ticket; created {key}."
    issue = jira_sim.control.issue(key)
    assert issue["fields"]["summary"] == "Orders lost customers"
    description = str(issue["fields"]["description"])
    assert f"Anomaly ID: {first.pk} ({first.uuid})" in description
    assert f"Anomaly ID: {second.pk} ({second.uuid})" in description


def test_it_writes_the_same_events_as_single_archives(
    member_author, orders, jira_integration, enqueued, django_capture_on_commit_callbacks
):
    from anomalies import bulk
    from anomalies.models import Anomaly
    from integrations import outbound
    from integrations.models import IntegrationState, TicketingIntegration
    from integrations.services.reconnect import MISSED_REASON

    plain, broken, old_site = make_anomaly(orders), make_anomaly(orders), make_anomaly(orders)
    make_link(plain, jira_integration, "DQ-2", issue_id="2")
    make_link(broken, jira_integration, "DQ-3", issue_id="3", broken_reason="Deleted in Jira")
    old_site_integration = TicketingIntegration.objects.create(
        connector="jira",
        host_url="https://old.example.net",
        credentials="a:b",
        default_project_key="DQ",
        state=IntegrationState.DISCONNECTED,
        connected_at=jira_integration.connected_at,
    )
    make_link(old_site, old_site_integration, "DQ-4", issue_id="4")
    selected, _ = bulk.select_anomalies(Anomaly.objects.all(), [plain.pk, broken.pk, old_site.pk])

    with django_capture_on_commit_callbacks(execute=True):
        result = bulk.run_bulk_action(
            bulk.bulk_actions()["archive"],
            selected,
            by=member_author,
            reason="Duplicate",
            note=" of #1 ",
        )

    assert sorted(result.done) == sorted([plain.pk, broken.pk, old_site.pk])
    plain.refresh_from_db()
    expected = outbound.status_comment("Duplicate", at=plain.status_changed_at, note="of #1")
    by_key = {e.link.issue_key: e for e in SyncEvent.objects.select_related("link")}
    assert by_key["DQ-2"].body == expected
    assert by_key["DQ-2"].state == SyncState.PENDING
    assert by_key["DQ-3"].state == SyncState.FAILED
    assert "broken reference" in by_key["DQ-3"].finished_reason
    assert (by_key["DQ-4"].state, by_key["DQ-4"].finished_reason) == (
        SyncState.CANCELLED,
        MISSED_REASON,
    )
    assert enqueued == [by_key["DQ-2"].pk]


def test_it_offers_the_create_forms_project_type_and_priority_choices(
    client, member_reporter, jira_integration
):
    client.force_login(member_reporter)
    url = reverse("integrations:bulk_create_fields")

    fields = client.get(url, headers={"HX-Request": "true"}).text
    in_ops = client.get(
        url, {"create-project": "OPS", "create-issue_type": "10004"}, headers={"HX-Request": "true"}
    ).text

    for name in ("create-project", "create-issue_type", "create-priority"):
        assert f'name="{name}"' in fields
    assert 'name="create-assignee"' not in fields  # a search fills it: one anomaly's form
    assert '<option value="OPS">Operations (OPS)</option>' in fields
    # Choosing a project or type asks for the choices that depend on it.
    project_select = fields.split('name="create-project"', 1)[1].split(">", 1)[0]
    assert f'hx-get="{url}"' in project_select
    assert '<option value="10004" selected>Incident</option>' in in_ops


def test_it_creates_the_ticket_with_the_chosen_project_type_and_priority(
    client, member_reporter, orders, jira_integration, jira_sim, enqueued
):
    first, second = make_anomaly(orders), make_anomaly(orders)
    client.force_login(member_reporter)

    client.post(
        BULK_URL,
        {
            "action": "create_issue",
            "scope": "selected",
            "ids": [first.pk, second.pk],
            "summary": "Orders lost customers",
            "token": "form-2",
            "create-project": "OPS",
            "create-issue_type": "10002",
            "create-priority": "2",
        },
    )

    key = TicketLink.objects.get(anomaly=first).issue_key
    issue = jira_sim.control.issue(key)
    assert key.startswith("OPS-")
    assert issue["fields"]["issuetype"]["name"] == "Bug"
    assert issue["fields"]["priority"]["name"] == "High"


def test_it_refuses_a_choice_the_form_does_not_offer_and_creates_nothing(
    client, member_reporter, orders, jira_integration, jira_sim, enqueued
):
    anomaly = make_anomaly(orders)
    client.force_login(member_reporter)

    response = client.post(
        BULK_URL,
        {
            "action": "create_issue",
            "scope": "selected",
            "ids": [anomaly.pk],
            "summary": "Orders lost customers",
            "create-priority": "99",
        },
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "0 linked to the new ticket, 1 skipped: “99” is not a priority the form offers."
    ]
    assert not TicketLink.objects.exists()
