"""The outbox: sync events are written with the anomaly change, then delivered by workers.

Guarantees (PRODUCT.md §5, docs/sync.md): an event is committed with its change; a worker
claims it under a row lock (two workers never send the same one); the events of one Jira
issue, across every anomaly linked to it, go out one at a time in the order their changes
committed; each comment carries an entity property with the event's uuid, so a send whose
outcome is unknown is looked up in Jira before it is sent again, and resent only once Jira
can no longer be completing it.
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
    SyncQueue,
    SyncState,
    TicketingIntegration,
    TicketLink,
    remote_issue_key,
)
from .clients import pooled_client_for

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
    retried if the issue comes back) instead of silently skipped.

    Each issue's queue row is locked before its event is written and stays locked until the
    change commits, so a later change to the same issue gets a later id: id order is commit
    order, per issue (docs/sync.md). Queues are locked in key order, so two changes sharing
    several issues cannot deadlock."""
    links = TicketLink.objects.current().filter(
        anomaly=change.anomaly, integration__state=IntegrationState.CONNECTED
    )
    keyed = sorted(
        ((remote_issue_key(link.integration_id, link.issue_id), link) for link in links),
        key=lambda pair: pair[0],
    )
    body = comment_text(change)
    events = []
    for remote_issue, link in keyed:
        lock_queue(remote_issue, link.integration_id)
        event = SyncEvent.objects.create(
            link=link, remote_issue=remote_issue, kind=change.kind, body=body, created_at=change.at
        )
        if link.is_broken:
            _fail(event, f"Not sent: the Jira issue is a broken reference ({link.broken_reason})")
        events.append(event)
    pending_ids = [event.pk for event in events if event.state == SyncState.PENDING]
    transaction.on_commit(lambda: enqueue_deliveries(pending_ids))
    return events


def lock_queue(remote_issue: str, integration_id: int) -> SyncQueue:
    """The issue's queue row, created if new, locked until the transaction ends."""
    SyncQueue.objects.bulk_create(
        [SyncQueue(remote_issue=remote_issue, integration_id=integration_id)],
        ignore_conflicts=True,  # two first changes to one issue: one insert wins, both lock it
    )
    return SyncQueue.objects.select_for_update().get(remote_issue=remote_issue)


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
    """Deliver one event if it is due and first in its issue's queue. Returns the outcome."""
    event = _claim(event_id)
    if event is None:
        return "skipped"
    try:
        comment_id = _send(event)
    except CredentialsUnreadable as error:
        _pause_integration(event, str(error))
        return "paused"
    except StillLooking as looking:
        _look_again_later(event, looking.resend_at)
        return "looking"
    except JiraError as error:
        outcome = _handle_failure(event, error)
        if outcome == "failed":  # a finished event no longer holds up the ones behind it
            enqueue_next(event.remote_issue)
        return outcome
    _mark_delivered(event, comment_id)
    enqueue_next(event.remote_issue)
    return "delivered"


class StillLooking(Exception):
    """An earlier send may still land: no comment found yet, and the margin is not over."""

    def __init__(self, resend_at: datetime) -> None:
        super().__init__(f"not before {resend_at:%H:%M:%S}")
        self.resend_at = resend_at


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
    earlier = SyncEvent.objects.filter(
        remote_issue=event.remote_issue, state__in=UNFINISHED, pk__lt=event.pk
    )
    return not earlier.exists()


def _send(event: SyncEvent) -> str:
    link = event.link
    marker = {"event": str(event.uuid)}
    with pooled_client_for(link.integration) as client:
        if event.outcome_unknown:
            found = client.find_comment_by_property(link.issue_key, PROPERTY_KEY, marker)
            if found:
                return found
            resend_at = resend_allowed_at(event)
            if resend_at > timezone.now():
                raise StillLooking(resend_at)
        return client.add_comment(
            link.issue_key, outbound.comment_body(event.body), properties={PROPERTY_KEY: marker}
        )


def resend_allowed_at(event: SyncEvent) -> datetime:
    """When an event whose last send had an unknown outcome may be sent again: once Jira can
    no longer plausibly be completing that send (docs/sync.md, "Outcome unknown")."""
    if event.uncertain_since is None:  # recorded before this rule existed
        return timezone.now()
    return event.uncertain_since + timedelta(seconds=settings.SYNC_LOOKBACK_MARGIN_SECONDS)


def _look_again_later(event: SyncEvent, resend_at: datetime) -> None:
    event.state = SyncState.PENDING
    event.next_attempt_at = resend_at
    event.sending_since = None
    event.last_error = (
        "Jira did not say whether it added the comment, and it is not there yet; looking "
        f"again at {resend_at:%H:%M:%S} UTC before sending it again."
    )
    event.save(update_fields=["state", "next_attempt_at", "sending_since", "last_error"])
    enqueue_delivery(event.pk, countdown=(resend_at - timezone.now()).total_seconds())


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
    # Jira accepts this issue again. Outside the transaction above: a queue row is never
    # locked while this worker waits for an anomaly row (a change holds them the other way).
    SyncQueue.objects.filter(remote_issue=event.remote_issue, forbidden_count__gt=0).update(
        forbidden_count=0, forbidden_at=None, forbidden_reason="", forbidden_project=""
    )


def _handle_failure(event: SyncEvent, error: JiraError) -> str:
    if isinstance(error, JiraCredentialsRejected):
        _pause_integration(event, f"{error.message} {error.hint}")
        return "paused"
    if isinstance(error, JiraForbidden):
        return _hold_forbidden_issue(event, error)
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
    if error.outcome_unknown:  # the send that may still land ended now
        event.outcome_unknown, event.uncertain_since = True, now
    event.next_attempt_at = now + timedelta(seconds=delay)
    event.sending_since = None
    event.last_error = error.message[:1000]
    event.save(
        update_fields=[
            "state",
            "outcome_unknown",
            "uncertain_since",
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


def _hold_forbidden_issue(event: SyncEvent, error: JiraForbidden) -> str:
    """403 on one issue: hold that issue's queue only, then fail its events after
    SYNC_FORBIDDEN_ATTEMPTS refusals in a row; pause the integration only when Jira refuses
    issues in several projects at once (docs/sync.md, "403 blast radius")."""
    now = timezone.now()
    link = event.link
    reason = f"{error.message} {error.hint}".strip()
    refused = _count_refusal(event, now, reason)
    refusals = f"Jira refused access to issue {link.issue_key}"
    with transaction.atomic():
        if refused >= settings.SYNC_FORBIDDEN_ATTEMPTS:
            _fail_queue(event, f"{refusals} {refused} times in a row: {reason}")
            delay = None
        else:
            delay = backoff_seconds(refused)
            _hold(event, now + timedelta(seconds=delay), f"{refusals}; retrying: {reason}")
        _pause_if_refused_across_projects(link.integration_id, now, reason)
    if delay is None:
        return "failed"
    enqueue_delivery(event.pk, countdown=delay)
    return "held"


def _count_refusal(event: SyncEvent, now: datetime, reason: str) -> int:
    """One more 403 on the event's issue; returns how many in a row. A transaction of its
    own: the queue row stays locked only for this, never while anomaly rows are touched."""
    with transaction.atomic():
        queue = lock_queue(event.remote_issue, event.link.integration_id)
        queue.forbidden_count += 1
        queue.forbidden_at, queue.forbidden_reason = now, reason[:500]
        queue.forbidden_project = project_of(event.link.issue_key)
        queue.save()
    return queue.forbidden_count


def project_of(issue_key: str) -> str:
    """The project key an issue key starts with (``DQ-12`` → ``DQ``)."""
    return issue_key.rpartition("-")[0].upper()


def _hold(event: SyncEvent, until: datetime, reason: str) -> None:
    event.state = SyncState.PENDING
    event.next_attempt_at = until
    event.sending_since = None
    event.last_error = reason[:1000]
    event.save(update_fields=["state", "next_attempt_at", "sending_since", "last_error"])


def _fail_queue(event: SyncEvent, reason: str) -> None:
    """Fail the event and every event waiting behind it on the same issue."""
    _fail(event, reason)
    waiting = SyncEvent.objects.filter(remote_issue=event.remote_issue, state=SyncState.PENDING)
    for later in waiting.select_related("link__anomaly").order_by("pk"):
        _fail(later, reason)


def _pause_if_refused_across_projects(integration_id: int, now: datetime, reason: str) -> None:
    since = now - timedelta(seconds=settings.SYNC_FORBIDDEN_WINDOW_SECONDS)
    projects = sorted(
        set(
            SyncQueue.objects.filter(
                integration_id=integration_id, forbidden_count__gt=0, forbidden_at__gte=since
            ).values_list("forbidden_project", flat=True)
        )
    )
    if len(projects) >= settings.SYNC_FORBIDDEN_PROJECTS_TO_PAUSE:
        pause = f"Jira refused access to issues in projects {', '.join(projects)}: {reason}"
        TicketingIntegration.objects.filter(pk=integration_id).update(attention_reason=pause[:500])


def _pause_integration(event: SyncEvent, reason: str) -> None:
    """401 (or unreadable credentials): stop sending for the whole integration until a
    Manager fixes the credentials, which are global."""
    with transaction.atomic():
        TicketingIntegration.objects.filter(pk=event.link.integration_id).update(
            attention_reason=reason[:500]
        )
        event.state = SyncState.PENDING
        event.sending_since = None
        event.last_error = reason[:1000]
        event.save(update_fields=["state", "sending_since", "last_error"])


def _break_link(event: SyncEvent, error: JiraError) -> None:
    """404: the issue is gone for every anomaly linked to it, so each such link breaks and
    every event waiting for the issue fails."""
    reason = error.message[:500]
    link = event.link
    with transaction.atomic():
        TicketLink.objects.current().filter(
            integration_id=link.integration_id, issue_id=link.issue_id
        ).update(broken_reason=reason)
        _fail_queue(event, f"The Jira issue was deleted or cannot be seen: {reason}")


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


def enqueue_next(remote_issue: str) -> None:
    following = (
        SyncEvent.objects.filter(remote_issue=remote_issue, state=SyncState.PENDING)
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
        uncertain_since=now,  # the lost send may have reached Jira up to now
        sending_since=None,
        last_error="The worker stopped while sending; checking Jira before resending.",
    )
    heads = due_heads(now)
    for event_id in heads:
        enqueue_delivery(event_id)
    return {"recovered": recovered, "enqueued": len(heads)}


def due_heads(now: datetime) -> list[int]:
    """The first unfinished event of each Jira issue, where it is pending and due, oldest
    first."""
    earlier = SyncEvent.objects.filter(
        remote_issue=OuterRef("remote_issue"), state__in=UNFINISHED, pk__lt=OuterRef("pk")
    )
    return list(
        SyncEvent.objects.filter(
            state=SyncState.PENDING,
            link__integration__state=IntegrationState.CONNECTED,
            link__integration__attention_reason="",
        )
        .exclude(next_attempt_at__gt=now)
        .filter(~Exists(earlier))
        .order_by("pk")
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
    # A fresh set of tries for an issue Jira refused (someone says the permission is fixed).
    SyncQueue.objects.filter(remote_issue=event.remote_issue).update(forbidden_count=0)
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
