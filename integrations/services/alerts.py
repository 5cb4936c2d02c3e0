"""Telling people when the sync needs them (README "Alerts").

Three causes: the integration paused (Jira refused the credentials, 401/403 across
projects), an event failed for good, events pending longer than ALERT_PENDING_MINUTES.
Managers and Admins hear of each by email; an anomaly's assignees hear of its own failed
events. Each message links to the page that explains it. At most one message per cause per
ALERT_THROTTLE_MINUTES: the AlertNotice row of the cause is locked while deciding, so two
workers cannot both send; what was held back is counted and said in the next message.
A Slack incoming webhook, when ALERT_SLACK_WEBHOOK_URL is set, gets the same text through
the outbound host policy (docs/alerts.md). The URL is a secret: it is never
logged, shown or passed to a task.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from anomalies.models import Role, User

from ..host_policy import HostNotAllowed, PolicedAdapter
from ..models import AlertNotice, SyncEvent, SyncState, TicketingIntegration
from .clients import host_policy

logger = logging.getLogger(__name__)
SLACK_TIMEOUT_SECONDS = 5


@dataclasses.dataclass(frozen=True)
class Alert:
    cause: str  # the throttling key
    title: str
    detail: str
    path: str  # the page that explains it

    @property
    def url(self) -> str:
        return settings.SITE_URL + self.path

    def text(self, held_back: int) -> str:
        more = f"\n({held_back} more since the last message.)" if held_back else ""
        return f"{self.title}\n{self.detail}{more}\n{self.url}"


def managers() -> list[User]:
    return list(
        User.objects.filter(is_active=True, role__in=(Role.MANAGER, Role.ADMIN)).exclude(email="")
    )


def _throttle() -> timedelta:
    return timedelta(minutes=settings.ALERT_THROTTLE_MINUTES)


@transaction.atomic
def _claim(alert: Alert) -> tuple[AlertNotice, int] | None:
    """The cause's row, stamped as sent now, with how many occurrences were held back since
    the last message; None when a message went out too recently."""
    now = timezone.now()
    AlertNotice.objects.get_or_create(
        cause=alert.cause, defaults={"title": alert.title, "last_sent_at": now - _throttle() * 2}
    )
    notice = AlertNotice.objects.select_for_update().get(cause=alert.cause)
    if now - notice.last_sent_at < _throttle():
        notice.held_back += 1
        notice.save(update_fields=["held_back"])
        return None
    held_back = notice.held_back
    notice.title, notice.detail, notice.url = alert.title, alert.detail[:1000], alert.url[:500]
    notice.last_sent_at, notice.held_back = now, 0
    notice.save()
    return notice, held_back


def raise_alert(alert: Alert, recipients: list[User]) -> bool:
    """Send the alert unless its cause was sent within the throttle. True if sent."""
    claimed = _claim(alert)
    if claimed is None:
        return False
    notice, held_back = claimed
    text = alert.text(held_back)
    addresses = sorted({user.email for user in recipients if user.email})
    if addresses:
        send_mail(f"[Qualytics] {alert.title}", text, None, addresses, fail_silently=True)
    notice.recipients = len(addresses)
    notice.slack_error = _post_to_slack(text)
    notice.save(update_fields=["recipients", "slack_error"])
    return True


def _post_to_slack(text: str) -> str:
    """Post to the Slack incoming webhook, if one is set. Returns why it failed, or ""."""
    url = settings.ALERT_SLACK_WEBHOOK_URL
    if not url:
        return ""
    with requests.Session() as session:
        adapter = PolicedAdapter(host_policy())
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        try:
            response = session.post(url, json={"text": text}, timeout=SLACK_TIMEOUT_SECONDS)
        except HostNotAllowed as refused:
            return str(refused)
        except requests.RequestException as error:
            return f"Slack was not reached ({type(error).__name__})."
    if response.status_code >= 400:
        return f"Slack answered {response.status_code}."
    return ""


# --- the three causes -----------------------------------------------------------------------


def alert_integration_paused(integration: TicketingIntegration) -> bool:
    if not integration.attention_reason:
        return False
    alert = Alert(
        cause="integration_paused",
        title="Jira sync is paused",
        detail=f"Jira refused the connection: {integration.attention_reason} "
        "Nothing is sent to Jira until a Manager fixes the credentials.",
        path=reverse("integrations:health"),
    )
    return raise_alert(alert, managers())


def alert_event_failed(event: SyncEvent) -> list[bool]:
    """Managers hear once an hour that events fail; the anomaly's assignees hear of their
    anomaly's failures, once an hour per anomaly."""
    anomaly = event.link.anomaly
    detail = (
        f"A comment for anomaly #{anomaly.pk} could not be sent to {event.link.issue_key}: "
        f"{event.finished_reason}"
    )
    page = reverse("anomalies:detail", args=[anomaly.pk])
    for_managers = Alert("event_failed", "A Jira comment failed", detail, page)
    for_assignees = Alert(f"event_failed:anomaly:{anomaly.pk}", for_managers.title, detail, page)
    return [
        raise_alert(for_managers, managers()),
        raise_alert(for_assignees, list(anomaly.assignees.filter(is_active=True))),
    ]


def alert_events_pending() -> bool:
    """The pending-age rule, run by the beat task: the oldest unfinished event is too old."""
    limit = timezone.now() - timedelta(minutes=settings.ALERT_PENDING_MINUTES)
    waiting = SyncEvent.objects.filter(
        state__in=(SyncState.PENDING, SyncState.SENDING), created_at__lt=limit
    ).count()
    if not waiting:
        return False
    alert = Alert(
        cause="events_pending",
        title="Jira comments are waiting",
        detail=f"{waiting} Jira comment(s) have been pending for more than "
        f"{settings.ALERT_PENDING_MINUTES:g} minutes.",
        path=reverse("integrations:health"),
    )
    return raise_alert(alert, managers())


def check_sync_alerts() -> dict[str, bool]:
    """Every ALERT_CHECK_SECONDS: a paused integration (reminded once an hour) and the
    pending-age rule."""
    integration = TicketingIntegration.objects.connected().first()
    return {
        "paused": bool(integration) and alert_integration_paused(integration),
        "pending": alert_events_pending(),
    }


def recent_alerts(limit: int = 10) -> list[AlertNotice]:
    return list(AlertNotice.objects.all()[:limit])


# --- hooks for the sync (after the change commits, in a worker) ------------------------------


def on_event_failed(event_id: int) -> None:
    from qualytics_jira.broker import publish

    from ..tasks import alert_event_failed as task

    transaction.on_commit(lambda: publish(task, event_id))


def on_integration_paused(integration_id: int) -> None:
    from qualytics_jira.broker import publish

    from ..tasks import alert_integration_paused as task

    transaction.on_commit(lambda: publish(task, integration_id))
