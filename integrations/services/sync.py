"""The outbox: sync events are written with the anomaly change, then delivered by workers.

Guarantees (PRODUCT.md §5): an event is committed with its change; a worker claims it under
a row lock (two workers never send the same one); the events of a link go out in creation
order; each comment carries an entity property with the event's uuid, so a send whose
outcome is unknown is looked up in Jira before it is sent again.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from anomalies.models import HistoryEntry
from anomalies.services import AnomalyChange, record_history

from .. import outbound
from ..broker import publish
from ..jira import (
    JiraCredentialsRejected,
    JiraError,
    JiraForbidden,
    JiraNotFound,
    JiraRateLimited,
)
from ..models import (
    CredentialsUnreadable,
    IntegrationState,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from .clients import client_for

logger = logging.getLogger(__name__)

PROPERTY_KEY = "qualytics-sync-event"
# How an event reads in the anomaly's history.
KIND_LABELS = {
    "acknowledged": "Acknowledgement",
    "archived": "Archive status",
    "restored": "Restore status",
    "commented": "Comment",
}
UNFINISHED = (SyncState.PENDING, SyncState.SENDING)


# --- writing the outbox ------------------------------------------------------------------


def comment_text(change: AnomalyChange) -> str:
    if change.kind == "commented":
        author = change.actor.get_full_name() or change.actor.username
        return outbound.user_comment(change.comment.text, at=change.at, author=author)
    return outbound.status_comment(change.status, at=change.at, note=change.note)


def queue_sync_events(change: AnomalyChange) -> list[SyncEvent]:
    """One event per current link of the connected integration; runs inside the change's
    transaction. A broken link's event fails at once, so the miss is visible (and can be
    retried if the issue comes back) instead of silently skipped."""
    links = TicketLink.objects.current().filter(
        anomaly=change.anomaly, integration__state=IntegrationState.CONNECTED
    )
    body = comment_text(change)
    events = []
    for link in links:
        event = SyncEvent.objects.create(
            link=link, kind=change.kind, body=body, created_at=change.at
        )
        if link.is_broken:
            _fail(event, f"Not sent: the Jira issue is a broken reference ({link.broken_reason})")
        events.append(event)
    pending_ids = [event.pk for event in events if event.state == SyncState.PENDING]
    transaction.on_commit(lambda: enqueue_deliveries(pending_ids))
    return events


def enqueue_delivery_on_commit(event_id: int) -> None:
    transaction.on_commit(lambda: enqueue_delivery(event_id))


def enqueue_deliveries(event_ids: list[int]) -> None:
    """Hand several events to workers, stopping at the first broker failure: each failure
    costs a broker connection timeout, and the sweeper enqueues the rest anyway."""
    for event_id in event_ids:
        if not enqueue_delivery(event_id):
            return


def enqueue_delivery(event_id: int, *, countdown: float | None = None) -> bool:
    """Hand an event to a worker. A broker outage only delays it: the sweeper finds it."""
    from ..tasks import deliver_sync_event

    return publish(deliver_sync_event, event_id, countdown=countdown)


# --- delivering ------------------------------------------------------------------------


def deliver_sync_event(event_id: int) -> str:
    """Deliver one event if it is due and first in its link's queue. Returns the outcome."""
    event = _claim(event_id)
    if event is None:
        return "skipped"
    try:
        comment_id = _send(event)
    except CredentialsUnreadable as error:
        _pause_integration(event, str(error))
        return "paused"
    except JiraError as error:
        outcome = _handle_failure(event, error)
        if outcome == "failed":  # a finished event no longer holds up the ones behind it
            enqueue_next(event.link_id)
        return outcome
    _mark_delivered(event, comment_id)
    enqueue_next(event.link_id)
    return "delivered"


def _claim(event_id: int) -> SyncEvent | None:
    now = timezone.now()
    with transaction.atomic():
        event = (
            SyncEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("link__integration", "link__anomaly")
            .filter(pk=event_id, state=SyncState.PENDING)
            .first()
        )
        if event is None or not _ready(event, now):
            return None
        event.state = SyncState.SENDING
        event.sending_since = now
        event.attempts += 1
        event.save(update_fields=["state", "sending_since", "attempts"])
    return event


def _ready(event: SyncEvent, now: datetime) -> bool:
    """Whether this event may be sent now; settles events that never will be."""
    link, integration = event.link, event.link.integration
    if integration.state != IntegrationState.CONNECTED or link.removed_at:
        _finish(event, SyncState.CANCELLED, "The link or the integration is no longer active.")
        return False
    if link.broken_reason:
        _fail(event, f"The Jira issue is a broken reference: {link.broken_reason}")
        return False
    if integration.attention_reason:
        return False
    if event.next_attempt_at and event.next_attempt_at > now:
        return False
    if integration.rate_limited_until and integration.rate_limited_until > now:
        _postpone(event, integration.rate_limited_until)
        return False
    earlier = SyncEvent.objects.filter(link=link, state__in=UNFINISHED, pk__lt=event.pk)
    return not earlier.exists()


def _send(event: SyncEvent) -> str:
    link = event.link
    marker = {"event": str(event.uuid)}
    with client_for(link.integration) as client:
        if event.outcome_unknown:
            found = client.find_comment_by_property(link.issue_key, PROPERTY_KEY, marker)
            if found:
                return found
        return client.add_comment(
            link.issue_key, outbound.comment_body(event.body), properties={PROPERTY_KEY: marker}
        )


def _mark_delivered(event: SyncEvent, comment_id: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        event.state = SyncState.DELIVERED
        event.jira_comment_id = str(comment_id)
        event.delivered_at = now
        event.sending_since = None
        event.last_error = ""
        event.save(
            update_fields=[
                "state",
                "jira_comment_id",
                "delivered_at",
                "sending_since",
                "last_error",
            ]
        )
        TicketLink.objects.filter(pk=event.link_id).update(last_synced_at=now)
        record_history(
            event.link.anomaly,
            action="sync_delivered",
            summary=f"{_label(event)} posted to Jira issue {event.link.issue_key}",
        )


def _handle_failure(event: SyncEvent, error: JiraError) -> str:
    if isinstance(error, JiraCredentialsRejected | JiraForbidden):
        _pause_integration(event, f"{error.message} {error.hint}")
        return "paused"
    if isinstance(error, JiraNotFound):
        _break_link(event, error)
        return "failed"
    if error.permanent:
        _fail(event, f"{error.message} {error.hint}".strip())
        return "failed"
    return _retry_later(event, error)


def _retry_later(event: SyncEvent, error: JiraError) -> str:
    now = timezone.now()
    retry_after = getattr(error, "retry_after", None)
    delay = retry_after if retry_after is not None else backoff_seconds(event.attempts)
    if error.outcome_unknown:
        # Jira may still be working on the request we gave up on: look for its comment only
        # once that request would have finished, so a late success is found, not repeated.
        delay = max(delay, settings.JIRA_READ_TIMEOUT)
    if isinstance(error, JiraRateLimited) and retry_after is not None:
        TicketingIntegration.objects.filter(pk=event.link.integration_id).update(
            rate_limited_until=now + timedelta(seconds=retry_after)
        )
    horizon = event.retry_horizon_start + timedelta(hours=settings.SYNC_RETRY_HORIZON_HOURS)
    if now + timedelta(seconds=delay) > horizon:
        _fail(event, f"Gave up after {event.attempts} attempts: {error.message}")
        return "failed"
    event.state = SyncState.PENDING
    event.outcome_unknown = event.outcome_unknown or error.outcome_unknown
    event.next_attempt_at = now + timedelta(seconds=delay)
    event.sending_since = None
    event.last_error = error.message[:1000]
    event.save(
        update_fields=[
            "state",
            "outcome_unknown",
            "next_attempt_at",
            "sending_since",
            "last_error",
        ]
    )
    enqueue_delivery(event.pk, countdown=delay)
    return "retry"


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±30% jitter (Atlassian's recommended range)."""
    base = settings.SYNC_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, settings.SYNC_BACKOFF_MAX_SECONDS) * random.uniform(0.7, 1.3)


def _postpone(event: SyncEvent, until: datetime) -> None:
    event.next_attempt_at = until
    event.save(update_fields=["next_attempt_at"])
    enqueue_delivery_on_commit_after(event.pk, until)


def enqueue_delivery_on_commit_after(event_id: int, until: datetime) -> None:
    delay = max((until - timezone.now()).total_seconds(), 0)
    transaction.on_commit(lambda: enqueue_delivery(event_id, countdown=delay))


def _pause_integration(event: SyncEvent, reason: str) -> None:
    """401/403: stop sending for the whole integration until a Manager fixes it."""
    with transaction.atomic():
        TicketingIntegration.objects.filter(pk=event.link.integration_id).update(
            attention_reason=reason[:500]
        )
        event.state = SyncState.PENDING
        event.sending_since = None
        event.last_error = reason[:1000]
        event.save(update_fields=["state", "sending_since", "last_error"])


def _break_link(event: SyncEvent, error: JiraError) -> None:
    reason = error.message[:500]
    with transaction.atomic():
        TicketLink.objects.filter(pk=event.link_id).update(broken_reason=reason)
        _fail(event, f"The Jira issue was deleted or cannot be seen: {reason}")
        for later in SyncEvent.objects.filter(link_id=event.link_id, state=SyncState.PENDING):
            _fail(later, f"The Jira issue was deleted or cannot be seen: {reason}")


def fail_pending_events(link: TicketLink, *, reason: str) -> int:
    """Fail a link's queued events at once, each with a history line, when its issue is
    known to be gone (a Jira webhook said so): retrying them could never succeed."""
    pending = SyncEvent.objects.filter(link=link, state=SyncState.PENDING).select_related(
        "link__anomaly"
    )
    failed = 0
    for event in pending:
        _fail(event, reason)
        failed += 1
    return failed


def _fail(event: SyncEvent, reason: str) -> None:
    _finish(event, SyncState.FAILED, reason)
    record_history(
        event.link.anomaly,
        action="sync_failed",
        summary=f"{_label(event)} to Jira issue {event.link.issue_key} failed: {reason}",
    )


def _label(event: SyncEvent) -> str:
    return KIND_LABELS.get(event.kind, "Comment")


def _finish(event: SyncEvent, state: str, reason: str) -> None:
    event.state = state
    event.finished_reason = reason[:500]
    event.sending_since = None
    event.save(update_fields=["state", "finished_reason", "sending_since"])


def enqueue_next(link_id: int) -> None:
    following = (
        SyncEvent.objects.filter(link_id=link_id, state=SyncState.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following:
        enqueue_delivery(following)


# --- sweeping, cancelling, retrying, resuming ---------------------------------------------


def sweep_sync_events() -> dict[str, int]:
    """Recover stale sends and enqueue every due head of queue. Runs every ~30 s."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.SYNC_SENDING_STALE_SECONDS)
    recovered = SyncEvent.objects.filter(
        state=SyncState.SENDING, sending_since__lt=stale_before
    ).update(
        state=SyncState.PENDING,
        outcome_unknown=True,
        sending_since=None,
        last_error="The worker stopped while sending; checking Jira before resending.",
    )
    heads = due_heads(now)
    for event_id in heads:
        enqueue_delivery(event_id)
    return {"recovered": recovered, "enqueued": len(heads)}


def due_heads(now: datetime) -> list[int]:
    """The first unfinished event of each link, where it is pending and due."""
    earlier = SyncEvent.objects.filter(
        link_id=OuterRef("link_id"), state__in=UNFINISHED, pk__lt=OuterRef("pk")
    )
    return list(
        SyncEvent.objects.filter(
            state=SyncState.PENDING,
            link__integration__state=IntegrationState.CONNECTED,
            link__integration__attention_reason="",
        )
        .exclude(next_attempt_at__gt=now)
        .filter(~Exists(earlier))
        .values_list("pk", flat=True)[:1000]
    )


def cancel_pending_events(
    *, reason: str, integration: TicketingIntegration | None = None, link: TicketLink | None = None
) -> int:
    events = SyncEvent.objects.filter(state__in=UNFINISHED)
    if integration is not None:
        events = events.filter(link__integration=integration)
    if link is not None:
        events = events.filter(link=link)
    cancelled = list(events.select_related("link"))
    _record_cancellations(cancelled, reason)
    return SyncEvent.objects.filter(pk__in=[event.pk for event in cancelled]).update(
        state=SyncState.CANCELLED, finished_reason=reason, sending_since=None
    )


def _record_cancellations(events: list[SyncEvent], reason: str) -> None:
    """One history line per anomaly and issue, so the anomaly shows what was not sent."""
    counts: dict[tuple[int, str], int] = {}
    for event in events:
        key = (event.link.anomaly_id, event.link.issue_key)
        counts[key] = counts.get(key, 0) + 1
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            anomaly_id=anomaly_id,
            action="sync_cancelled",
            summary=f"{n} pending comment{'s' if n != 1 else ''} to Jira issue {key} "
            f"cancelled: {reason}"[:500],
        )
        for (anomaly_id, key), n in counts.items()
    )


@transaction.atomic
def retry_sync_event(event: SyncEvent) -> None:
    """Send a failed event again (Retry button, admin bulk action)."""
    event = SyncEvent.objects.select_for_update().select_related("link").get(pk=event.pk)
    if event.state != SyncState.FAILED:
        return
    if event.link.broken_reason:
        TicketLink.objects.filter(pk=event.link_id).update(broken_reason="")
    event.state = SyncState.PENDING
    event.attempts = 0
    event.next_attempt_at = None
    event.finished_reason = ""
    event.retried_at = timezone.now()  # a fresh retry horizon
    event.save(
        update_fields=["state", "attempts", "next_attempt_at", "finished_reason", "retried_at"]
    )
    enqueue_delivery_on_commit(event.pk)


def resume_integration(integration: TicketingIntegration) -> None:
    """After the credentials are fixed: enqueue the head of every waiting queue."""
    transaction.on_commit(lambda: enqueue_deliveries(due_heads(timezone.now())))
