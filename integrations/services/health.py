"""Sync health for operators: the same figures on a page and from `manage.py sync_health`."""

from __future__ import annotations

import dataclasses
import socket
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from ..models import AlertNotice, SyncEvent, SyncState, TicketingIntegration, WorkerHeartbeat


@dataclasses.dataclass(frozen=True)
class SyncHealth:
    counts: dict[str, int]
    oldest_pending_age: timedelta | None
    recent_problems: list[SyncEvent]
    integration: TicketingIntegration | None
    # The last message of each alert cause (services/alerts.py), newest first.
    alerts: list[AlertNotice] = dataclasses.field(default_factory=list)

    @property
    def healthy(self) -> bool:
        paused = bool(self.integration and self.integration.attention_reason)
        stuck = self.oldest_pending_age is not None and self.oldest_pending_age > timedelta(
            minutes=15
        )
        return not (paused or stuck)


def sync_health(*, problems: int = 10) -> SyncHealth:
    now = timezone.now()
    rows = SyncEvent.objects.values_list("state").annotate(n=Count("id")).order_by()
    counts = {state.value: 0 for state in SyncState} | dict(rows)
    oldest = SyncEvent.objects.filter(state__in=(SyncState.PENDING, SyncState.SENDING)).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    recent = (
        SyncEvent.objects.filter(Q(state=SyncState.FAILED) | ~Q(last_error=""))
        .exclude(state__in=(SyncState.DELIVERED, SyncState.CANCELLED))
        .select_related("link")
        .order_by("-id")[:problems]
    )
    return SyncHealth(
        counts=counts,
        oldest_pending_age=(now - oldest) if oldest else None,
        recent_problems=list(recent),
        integration=TicketingIntegration.objects.connected().first(),
        alerts=list(AlertNotice.objects.all()[:problems]),
    )


def format_health(health: SyncHealth) -> list[str]:
    lines = ["Sync events: " + ", ".join(f"{state} {n}" for state, n in health.counts.items())]
    age = health.oldest_pending_age
    lines.append(
        f"Oldest unfinished event: {int(age.total_seconds())} s"
        if age
        else "Oldest unfinished event: none"
    )
    if health.integration is None:
        lines.append("Integration: none connected")
    elif health.integration.attention_reason:
        lines.append(f"Integration: PAUSED — {health.integration.attention_reason}")
    else:
        lines.append(f"Integration: {health.integration} connected")
    for event in health.recent_problems:
        problem = event.finished_reason or event.last_error
        lines.append(f"  #{event.pk} {event.link.issue_key} {event.state}: {problem}")
    for notice in health.alerts:
        held = f" ({notice.held_back} held back since)" if notice.held_back else ""
        lines.append(
            f"  Alert {notice.cause} sent {notice.last_sent_at:%Y-%m-%d %H:%M} UTC to "
            f"{notice.recipients} recipient(s){held}: {notice.title}"
        )
    lines.append("Status: " + ("healthy" if health.healthy else "NEEDS ATTENTION"))
    return lines


# --- the worker heartbeat (for /healthz and /metrics) -------------------------------------

HEARTBEAT = "sweep"


def stamp_worker_heartbeat() -> None:
    """Called by every sweep: beat scheduled it and a worker ran it, so both are alive."""
    WorkerHeartbeat.objects.update_or_create(
        name=HEARTBEAT,
        defaults={"beat_at": timezone.now(), "hostname": socket.gethostname()[:255]},
    )


def worker_heartbeat_age() -> timedelta | None:
    """Time since the last sweep ran; None if none ever did. One indexed row read."""
    beat_at = (
        WorkerHeartbeat.objects.filter(name=HEARTBEAT).values_list("beat_at", flat=True).first()
    )
    return timezone.now() - beat_at if beat_at else None


def heartbeat_max_age() -> timedelta:
    """A heartbeat older than three sweep intervals (at least a minute) is stale."""
    return timedelta(seconds=max(3 * settings.SYNC_SWEEP_SECONDS, 60))
