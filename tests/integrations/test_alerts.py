"""Alerts: who hears when the sync needs them, at most once per cause per hour."""

import io
from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from anomalies.models import Role
from integrations.models import AlertNotice, SyncEvent, SyncState
from integrations.services import alerts
from tests.conftest import make_anomaly, make_link, make_user

SLACK_URL = "https://hooks.slack.example.com/services/T0/B0/secret"


@pytest.fixture
def paused(jira_integration):
    jira_integration.attention_reason = "Jira rejected the credentials (401)."
    jira_integration.save()
    return jira_integration


def make_event(anomaly, integration, *, key="DQ-2", state=SyncState.FAILED, **fields):
    link = make_link(anomaly, integration, key, issue_id=key.split("-")[1])
    return SyncEvent.objects.create(
        link=link,
        kind="acknowledged",
        body="x",
        state=state,
        finished_reason="Jira refused the comment (400).",
        created_at=fields.pop("created_at", timezone.now()),
        **fields,
    )


def an_hour_passes() -> None:
    AlertNotice.objects.update(last_sent_at=timezone.now() - timedelta(minutes=61))


def test_it_emails_the_managers_once_when_the_integration_pauses(paused, manager, admin):
    assert alerts.alert_integration_paused(paused) is True
    assert alerts.alert_integration_paused(paused) is False
    assert alerts.alert_integration_paused(paused) is False

    (message,) = mail.outbox
    assert sorted(message.to) == ["admin@example.com", "manager@example.com"]
    assert message.subject == "[Qualytics] Jira sync is paused"
    assert "Jira rejected the credentials (401)." in message.body
    assert message.body.endswith("/settings/sync-health/")


def test_it_says_how_many_were_held_back_once_the_hour_is_over(paused, manager):
    alerts.alert_integration_paused(paused)
    alerts.alert_integration_paused(paused)
    alerts.alert_integration_paused(paused)
    an_hour_passes()

    assert alerts.alert_integration_paused(paused) is True
    assert len(mail.outbox) == 2
    assert "(2 more since the last message.)" in mail.outbox[1].body


def test_it_tells_the_assignees_of_their_own_anomalys_failed_event(
    orders, jira_integration, manager, member_author
):
    mine, other = make_anomaly(orders), make_anomaly(orders)
    mine.assignees.add(member_author)

    alerts.alert_event_failed(make_event(mine, jira_integration, key="DQ-2"))
    alerts.alert_event_failed(make_event(mine, jira_integration, key="DQ-3"))
    alerts.alert_event_failed(make_event(other, jira_integration, key="DQ-4"))

    assert [message.to for message in mail.outbox] == [
        ["manager@example.com"],
        ["author@example.com"],
    ]
    assert f"/anomalies/{mine.pk}/" in mail.outbox[1].body


def test_it_alerts_on_events_pending_past_the_threshold(
    orders, jira_integration, manager, settings
):
    settings.ALERT_PENDING_MINUTES = 15
    anomaly = make_anomaly(orders)
    make_event(anomaly, jira_integration, state=SyncState.PENDING)

    assert alerts.check_sync_alerts() == {"paused": False, "pending": False}

    SyncEvent.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    assert alerts.check_sync_alerts() == {"paused": False, "pending": True}
    assert alerts.check_sync_alerts() == {"paused": False, "pending": False}
    assert "1 Jira comment(s) have been pending for more than 15 minutes" in mail.outbox[0].body


def test_it_reaches_nobody_without_an_email_address(paused):
    make_user("boss", role=Role.MANAGER).__class__.objects.update(email="")

    assert alerts.alert_integration_paused(paused) is True
    assert mail.outbox == []
    assert AlertNotice.objects.get().recipients == 0


@responses.activate
def test_it_posts_the_same_text_to_slack(paused, manager, settings):
    settings.ALERT_SLACK_WEBHOOK_URL = SLACK_URL
    posted = responses.post(SLACK_URL, json={})

    alerts.alert_integration_paused(paused)

    assert posted.call_count == 1
    assert b"Jira sync is paused" in posted.calls[0].request.body
    assert AlertNotice.objects.get().slack_error == ""


def test_it_never_posts_to_a_private_slack_address(paused, manager, settings):
    settings.ALERT_SLACK_WEBHOOK_URL = "http://10.1.2.3/hook"

    alerts.alert_integration_paused(paused)

    notice = AlertNotice.objects.get()
    assert "not allowed" in notice.slack_error
    assert "10.1.2.3/hook" not in notice.slack_error
    assert len(mail.outbox) == 1  # the email still went


def test_it_alerts_when_the_sync_fails_an_event(
    orders,
    jira_integration,
    manager,
    member_author,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    from anomalies.services import acknowledge_anomaly
    from qualytics_jira import broker

    monkeypatch.setattr(broker, "publish", lambda task, *args, **kwargs: task(*args) or True)
    anomaly = make_anomaly(orders)
    anomaly.assignees.add(member_author)
    make_link(anomaly, jira_integration, "DQ-9", issue_id="9", broken_reason="Deleted in Jira")

    with django_capture_on_commit_callbacks(execute=True):
        acknowledge_anomaly(anomaly, by=member_author)

    assert sorted(m.to[0] for m in mail.outbox) == ["author@example.com", "manager@example.com"]
    assert "Deleted in Jira" in mail.outbox[0].body


def test_it_lists_the_alerts_in_sync_health_and_on_the_health_page(paused, manager, client):
    alerts.alert_integration_paused(paused)
    alerts.alert_integration_paused(paused)

    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("sync_health", stdout=out)
    assert "Alert integration_paused sent" in out.getvalue()
    assert "(1 held back since): Jira sync is paused" in out.getvalue()

    client.force_login(manager)
    page = client.get("/settings/sync-health/").content.decode()
    assert "Alerts sent" in page
    assert "integration_paused" in page
