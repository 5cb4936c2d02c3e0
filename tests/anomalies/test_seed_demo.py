from http import HTTPStatus

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from anomalies.models import Anomaly, FailedCheck, HistoryEntry, Status, Team, User
from integrations.jira.connector import NOTE_PROPERTY
from integrations.models import SyncEvent, SyncState, TicketingIntegration, TicketLink


def seed(count: int, **options) -> str:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", anomalies=count, stdout=out, **options)
    return out.getvalue()


def test_it_is_idempotent(db):
    first = seed(120)
    counts = (
        Anomaly.objects.count(),
        FailedCheck.objects.count(),
        User.objects.count(),
        Team.objects.count(),
    )

    second = seed(120)

    assert "120 created, 120 in all" in first
    assert "0 created, 120 in all" in second
    assert counts == (
        Anomaly.objects.count(),
        FailedCheck.objects.count(),
        User.objects.count(),
        Team.objects.count(),
    )


def test_it_scales_up_without_duplicating(db):
    seed(50)
    output = seed(80)

    assert "30 created, 80 in all" in output
    assert Anomaly.objects.count() == 80


def test_it_creates_realistic_variety(db):
    seed(400)

    assert set(Anomaly.objects.values_list("status", flat=True)) == set(Status.values)
    assert set(Anomaly.objects.values_list("anomaly_type", flat=True)) == {"record", "shape"}
    per_anomaly = {
        a.failed_checks.count() for a in Anomaly.objects.prefetch_related("failed_checks")[:200]
    }
    assert min(per_anomaly) >= 1 and max(per_anomaly) <= 5
    assert Anomaly.objects.values("datastore").distinct().count() == 3


def test_it_prints_logins_that_work_and_see_what_their_teams_allow(db):
    output = seed(100)
    for username in (
        "admin",
        "manager",
        "reporter",
        "viewer",
        "drafter",
        "author",
        "editor",
        "outsider",
    ):
        assert f"  {username} " in output

    client = Client()
    assert sign_in(client, "outsider")
    assert client.get(reverse("anomalies:list"), {"status": "all"}).context["page"].total.value == 0
    assert sign_in(client, "admin")
    assert (
        client.get(reverse("anomalies:list"), {"status": "all"}).context["page"].total.value == 100
    )
    assert sign_in(client, "reporter")
    seen = client.get(reverse("anomalies:list"), {"status": "all"}).context["page"].total.value
    assert 0 < seen < 100  # HR Postgres is not theirs


def sign_in(client, username: str) -> bool:
    """Through the sign-in page, as a person would (and as the throttling sees it)."""
    client.logout()
    response = client.post(reverse("login"), {"username": username, "password": "demo"})
    return response.status_code == HTTPStatus.FOUND


def test_it_gives_every_acknowledged_or_archived_anomaly_its_history(db):
    seed(150)

    for anomaly in Anomaly.objects.exclude(status=Status.ACTIVE).prefetch_related("history"):
        entries = list(anomaly.history.all())
        assert entries, anomaly.status  # not "No changes yet"
        latest = entries[0]  # newest first
        expected = "Acknowledged" if anomaly.status == Status.ACKNOWLEDGED else "Archived as"
        assert latest.summary.startswith(expected)
        assert latest.actor is not None
    assert not HistoryEntry.objects.filter(anomaly__status=Status.ACTIVE).exists()


def test_it_links_anomalies_to_simulator_issues_that_hold_the_delivered_notes(db, jira_sim):
    output = seed(200, jira=jira_sim.url, links=60)

    links = TicketLink.objects.all()
    assert links.count() == 60
    assert "60 anomalies linked to simulator issues" in output
    in_jira = {issue["key"] for issue in jira_sim.control.issues()}
    [broken] = links.exclude(broken_reason="")
    assert broken.issue_key not in in_jira  # deleted in the simulator
    assert {link.issue_key for link in links if not link.is_broken} <= in_jira
    assert broken.get_status_category_display() == "Unknown" and broken.status_error

    delivered = SyncEvent.objects.filter(state=SyncState.DELIVERED).select_related("link")
    assert delivered.count() > 60
    for event in delivered.exclude(link=broken)[:10]:
        markers = {
            prop["value"]["event"]: comment["id"]
            for comment in jira_sim.control.comments(event.link.issue_key)
            for prop in comment["properties"]
            if prop["key"] == NOTE_PROPERTY
        }
        assert markers[str(event.uuid)] == event.remote_note_id
        assert event.link.anomaly.history.filter(action="sync_delivered").exists()

    assert SyncEvent.objects.filter(state=SyncState.PENDING).count() == 6
    [failed] = SyncEvent.objects.filter(state=SyncState.FAILED)
    assert failed.finished_reason.startswith("Gave up after")
    assert failed.link.anomaly.history.filter(summary__contains=failed.finished_reason).exists()


def test_it_links_once_however_often_it_runs(db, jira_sim):
    seed(120, jira=jira_sim.url, links=30)
    issues = len(jira_sim.control.issues())

    output = seed(120, jira=jira_sim.url, links=30)

    assert "30 links already there" in output
    assert TicketLink.objects.count() == 30
    assert len(jira_sim.control.issues()) == issues


def test_it_saves_the_demo_credentials_again_when_they_became_unreadable(db, jira_sim):
    """A database seeded under other keys (e.g. by a DEBUG run's development keys) keeps
    its simulator connection working instead of pausing the sync."""
    from tests.integrations.connection_support import write_raw_credentials

    seed(20, jira=jira_sim.url, links=10)
    integration = TicketingIntegration.objects.get()
    write_raw_credentials(integration.pk, b"\x00sealed with another key\xff")

    output = seed(20, jira=jira_sim.url, links=10)

    assert "Re-saved the demo credentials" in output
    assert TicketingIntegration.objects.get().credentials_readable
    assert TicketingIntegration.objects.count() == 1
