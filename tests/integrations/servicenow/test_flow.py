"""The ServiceNow journey through the pages, over real HTTP to the in-process simulator: a
Manager connects ServiceNow in Settings, a Reporter creates an incident, an Author links one
by URL, acknowledges, comments and archives; the simulator then holds exactly the expected
work notes, in order. The test plays the worker (as tests/integrations/test_sync.py does)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from anomalies.models import Status
from integrations import tasks
from integrations.models import SyncEvent, SyncState, TicketingIntegration, TicketLink
from integrations.services import sync
from tests.conftest import SIM_EMAIL, SIM_TOKEN, SN_PASSWORD, SN_USERNAME, make_link

MARKER_LINE = re.compile(r"\n\n\[qualytics-event:[^\]]+\]$")


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[int]:
    """What the product handed to the broker, in order; the test delivers it."""
    calls: list[int] = []

    def record(event_id: int, *, countdown: float | None = None) -> bool:
        calls.append(event_id)
        return True

    monkeypatch.setattr(sync, "enqueue_delivery", record)
    return calls


def run_worker(enqueued: list[int]) -> list[str]:
    outcomes = []
    for _ in range(100):
        if not enqueued:
            return outcomes
        outcomes.append(tasks.deliver_sync_event(enqueued.pop(0)))
    raise AssertionError(f"the queue never drained: {outcomes[-10:]}")


def connect_form(sim, **changes) -> dict:
    form = {
        "connector": "servicenow",
        "host_url": sim.url,
        "credentials": f"{SN_USERNAME}:{SN_PASSWORD}",
        "default_project_key": "Data Quality",
        "reattach_links": "on",
    }
    return {**form, **changes}


def work_notes(sim, number: str) -> list[str]:
    """The work notes as a reader sees them, the delivery marker line taken off."""
    return [MARKER_LINE.sub("", text) for text in sim.control.work_notes(number)]


@pytest.fixture
def connected(client, manager, servicenow_sim) -> TicketingIntegration:
    client.force_login(manager)
    response = client.post(reverse("integrations:connect"), connect_form(servicenow_sim))
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    return TicketingIntegration.objects.get(connector="servicenow")


def test_it_connects_servicenow_in_settings_and_says_which_guarantee_applies(
    client, manager, servicenow_sim
):
    client.force_login(manager)

    response = client.post(
        reverse("integrations:connect"), connect_form(servicenow_sim), follow=True
    )

    integration = TicketingIntegration.objects.get()
    assert (integration.connector, integration.host_url) == ("servicenow", servicenow_sim.url)
    assert integration.account_name == "Qualytics Integration"
    assert SN_PASSWORD not in response.content.decode()
    page = client.get(reverse("integrations:list")).content.decode()
    assert "exactly once" in page or "exactly-once" in page


def test_it_refuses_to_connect_a_read_only_account_with_the_permission_hint(
    client, manager, servicenow_sim
):
    client.force_login(manager)

    response = client.post(
        reverse("integrations:connect"),
        connect_form(servicenow_sim, credentials="readonly.viewer:viewer-password"),
        follow=True,
    )

    page = response.content.decode()
    assert not TicketingIntegration.objects.exists()
    assert "Permission check failed" in page
    assert "itil role" in page
    assert "viewer-password" not in page


def test_it_refuses_plain_http_to_a_real_instance(client, manager, servicenow_sim):
    client.force_login(manager)

    response = client.post(
        reverse("integrations:connect"),
        connect_form(servicenow_sim, host_url="http://dev1.service-now.com"),
    )

    assert "must start with https://" in response.content.decode()
    assert not TicketingIntegration.objects.exists()


def test_it_creates_an_incident_from_the_anomaly_page(
    client, anomaly, member_reporter, servicenow_sim, connected
):
    client.force_login(member_reporter)
    create_url = reverse("integrations:create", args=[anomaly.pk])
    form_page = client.get(create_url).content.decode()
    assert "Short description" in form_page and "Urgency" in form_page

    response = client.post(
        create_url,
        {
            "summary": "Null customer ids in orders",
            "description": "Seen after the nightly load.",
            "urgency": "1",
            "impact": "2",
            "category": "database",
            "subcategory": "",
            "group_search": "",
            "assignment_group": servicenow_sim.control.incident("INC0010001")["assignment_group"],
            "user_search": "",
            "assigned_to": "",
            "create": "1",
        },
        follow=True,
    )

    assert response.status_code == 200
    link = TicketLink.objects.get(anomaly=anomaly)
    stored = servicenow_sim.control.incident(link.issue_key)
    assert link.issue_key == "INC0010006"
    assert stored["short_description"] == "Null customer ids in orders"
    assert stored["description"].startswith("Seen after the nightly load.")
    assert f"/anomalies/{anomaly.pk}" in stored["description"]
    assert (stored["urgency"], stored["impact"], stored["priority"]) == ("1", "2", "2")
    assert link.status_name == "New"


def test_it_syncs_acknowledge_comment_and_archive_as_work_notes_in_order(
    client, anomaly, member_author, servicenow_sim, connected, enqueued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    sys_id = servicenow_sim.control.incident("INC0010003")["sys_id"]
    client.force_login(member_author)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("integrations:link", args=[anomaly.pk]),
            {"query": f"{servicenow_sim.url}/now/sow/record/incident/{sys_id}"},
        )
    link = TicketLink.objects.get(anomaly=anomaly)
    assert link.issue_key == "INC0010003"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/anomalies/{anomaly.pk}/acknowledge/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/anomalies/{anomaly.pk}/comments/", {"text": "Looking into it"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/anomalies/{anomaly.pk}/archive/", {"reason": Status.RESOLVED, "note": "Fixed"}
        )
    servicenow_sim.control.add_fault("drop_after", method="PATCH")  # the first note's answer
    run_worker(enqueued)
    for event in SyncEvent.objects.filter(state=SyncState.PENDING):
        SyncEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
        enqueued.append(event.pk)
    run_worker(enqueued)

    events = list(SyncEvent.objects.filter(link=link).order_by("pk"))
    assert [e.state for e in events] == [SyncState.DELIVERED] * 3
    assert [e.remote_note_id for e in events] == [e.uuid.hex for e in events]
    assert work_notes(servicenow_sim, "INC0010003") == [e.body for e in events]
    assert "Acknowledged" in events[0].body and "Looking into it" in events[1].body
    patches = [
        r
        for r in servicenow_sim.control.requests()
        if r["method"] == "PATCH" and r["path"].endswith(sys_id)
    ]
    assert len(patches) == 3  # the note whose answer was lost was found, not sent again
    assert patches[0]["outcome"] == "fault:drop_after"


def test_it_refreshes_statuses_and_marks_a_deleted_incident_broken(
    client, anomaly, member_author, servicenow_sim, connected
):
    client.force_login(member_author)
    for number in ("INC0010002", "INC0010004"):
        client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": number})
    servicenow_sim.control.set_state("INC0010002", "8")
    servicenow_sim.control.delete_incident("INC0010004")
    servicenow_sim.control.clear_requests()

    response = client.post(reverse("integrations:refresh", args=[anomaly.pk]), follow=True)

    links = {link.issue_key: link for link in TicketLink.objects.filter(anomaly=anomaly)}
    assert links["INC0010002"].status_name == "Canceled"
    assert not links["INC0010002"].is_broken
    assert links["INC0010004"].is_broken
    assert "not found in ServiceNow" in response.content.decode()
    reads = [r for r in servicenow_sim.control.requests() if r["path"].endswith("/incident")]
    assert len(reads) == 1  # one numberIN query for both links


def test_it_shows_the_weaker_guarantee_in_settings_without_journal_access(
    client, manager, servicenow_sim
):
    client.force_login(manager)
    client.post(
        reverse("integrations:connect"),
        connect_form(servicenow_sim, credentials="itil.only:itil-password"),
    )

    page = client.get(reverse("integrations:list")).content.decode()

    assert TicketingIntegration.objects.get().account_name == "ITIL Only"
    assert "weaker guarantee" in page


def test_it_switches_from_jira_to_servicenow_and_back_keeping_old_links_as_history(
    client, anomaly, manager, member_author, jira_sim, jira_integration, servicenow_sim,
    enqueued, django_capture_on_commit_callbacks,
):  # fmt: skip
    jira_link = make_link(anomaly, jira_integration, "DQ-2")
    client.force_login(manager)
    client.post(reverse("integrations:disconnect", args=[jira_integration.pk]))
    client.post(reverse("integrations:connect"), connect_form(servicenow_sim))
    servicenow = TicketingIntegration.objects.get(connector="servicenow", state="connected")
    client.force_login(member_author)
    client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": "INC0010001"})

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/anomalies/{anomaly.pk}/acknowledge/")
    run_worker(enqueued)

    incident_link = TicketLink.objects.get(anomaly=anomaly, integration=servicenow)
    assert [e.state for e in SyncEvent.objects.filter(link=incident_link)] == [SyncState.DELIVERED]
    # The Jira link is history: what it is owed is kept cancelled, never sent to Jira.
    assert {e.state for e in SyncEvent.objects.filter(link=jira_link)} <= {SyncState.CANCELLED}
    assert all("Acknowledged" not in c["text"] for c in jira_sim.control.comments("DQ-2"))
    assert len(work_notes(servicenow_sim, "INC0010001")) == 1
    page = client.get(f"/anomalies/{anomaly.pk}/").content.decode()
    assert "DQ-2" in page and "INC0010001" in page

    client.force_login(manager)
    client.post(reverse("integrations:disconnect", args=[servicenow.pk]))
    response = client.post(
        reverse("integrations:connect"),
        {
            "connector": "jira",
            "host_url": jira_sim.url,
            "credentials": f"{SIM_EMAIL}:{SIM_TOKEN}",
            "default_project_key": "DQ",
        },
    )
    assert response.status_code == 302
    assert TicketingIntegration.objects.get(state="connected").connector == "jira"


def test_it_pauses_sync_when_work_notes_on_two_incidents_are_refused(
    client, anomaly, member_author, servicenow_sim, connected, enqueued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    client.force_login(member_author)
    for number in ("INC0010001", "INC0010002"):
        client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": number})
    servicenow_sim.control.add_fault(
        status=403, method="PATCH", count=10,
        body={"error": {"message": "Operation Failed", "detail": "ACL Exception Update Failed"},
              "status": "failure"},
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/anomalies/{anomaly.pk}/acknowledge/")
    run_worker(enqueued)

    integration = TicketingIntegration.objects.get()
    assert "ServiceNow refused access to incidents" in integration.attention_reason
    assert "INC0010001, INC0010002" in integration.attention_reason
    assert servicenow_sim.control.work_notes("INC0010001") == []


def test_it_never_takes_a_hibernating_instance_for_a_delivered_work_note(
    client, anomaly, member_author, servicenow_sim, connected, enqueued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    client.force_login(member_author)
    client.post(reverse("integrations:link", args=[anomaly.pk]), {"query": "INC0010001"})
    servicenow_sim.control.set_hibernating(True)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/anomalies/{anomaly.pk}/acknowledge/")
    run_worker(enqueued)
    (event,) = SyncEvent.objects.all()
    assert event.state == SyncState.PENDING
    assert "hibernating" in event.last_error

    servicenow_sim.control.set_hibernating(False)
    margin = timedelta(seconds=django_settings.SYNC_LOOKBACK_MARGIN_SECONDS + 1)
    SyncEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now(), uncertain_since=timezone.now() - margin
    )
    for _ in range(3):  # a look first, then the send once the margin has passed
        enqueued.append(event.pk)
        run_worker(enqueued)
        event.refresh_from_db()
        if event.state == SyncState.DELIVERED:
            break
        SyncEvent.objects.filter(pk=event.pk).update(
            next_attempt_at=timezone.now(), uncertain_since=timezone.now() - margin
        )

    assert event.state == SyncState.DELIVERED
    assert len(work_notes(servicenow_sim, "INC0010001")) == 1


def test_it_narrows_assignment_groups_and_subcategories_on_the_create_page(
    client, anomaly, member_reporter, servicenow_sim, connected
):
    client.force_login(member_reporter)
    create_url = reverse("integrations:create", args=[anomaly.pk])

    first = client.get(create_url).content.decode()
    refreshed = client.post(
        create_url,
        {"summary": "Nulls", "category": "database", "group_search": "serv", "_refresh": "1"},
    ).content.decode()

    assert "Find assignment group" in first and "Data Quality" in first
    assert "Priority (computed by ServiceNow" in first
    assert "Service Desk" in refreshed and "Legacy Reporting" not in refreshed
    assert "Oracle" in refreshed and "Antivirus" not in refreshed
    assert not TicketLink.objects.exists()
