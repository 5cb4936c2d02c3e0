"""The outbox: sync events are written with the anomaly change, then delivered by workers.

One implementation for every connector. Guarantees (PRODUCT.md §5, docs/sync.md): an event
is committed with its change; a worker claims it under a row lock (two workers never send the
same one); the events of one remote ticket, across every anomaly linked to it, go out one at
a time in the order their changes committed; each note carries the event's uuid as its
delivery marker, so a send whose outcome is unknown is looked for (``Connector.find_note``)
before it is sent again, and resent only once the remote can no longer be completing it.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Subquery, Value, When
from django.utils import timezone

from anomalies.models import HistoryEntry
from anomalies.services import AnomalyChange, record_history
from qualytics_jira.broker import publish

from .. import outbound
from ..errors import ConnectorError, CredentialsRejected, Forbidden, NotFound, RateLimited
from ..models import (
    UNFINISHED,
    ChangeKind,
    CredentialsUnreadable,
    IntegrationState,
    SyncEvent,
    SyncQueue,
    SyncState,
    TicketingIntegration,
    TicketLink,
    remote_issue_key,
)
from .alerts import on_event_failed, on_integration_paused
from .batching import hand_to_workers
from .clients import pooled_connector_for

logger = logging.getLogger(__name__)

# Tasks are handed to the broker by name: services never import the tasks module (which
# imports services).
DELIVER_TASK = "integrations.tasks.deliver_sync_event"
REFRESH_TASK = "integrations.tasks.refresh_ticket_statuses"


# --- writing the outbox ------------------------------------------------------------------


def note_text(change: AnomalyChange) -> str:
    if ChangeKind(change.kind) == ChangeKind.COMMENTED:
        author = change.actor.get_full_name() or change.actor.username
        return outbound.user_comment(change.comment.text, at=change.at, author=author)
    return outbound.status_comment(change.status, at=change.at, note=change.note)


def ticket_kind(link: TicketLink) -> str:
    """What the remote ticket is, in words: "Jira issue", "ServiceNow incident"."""
    connector = link.integration.connector_class
    return f"{connector.name} {connector.ticket_noun}"


def ticket_words(link: TicketLink) -> str:
    """How history names the remote ticket: "Jira issue DQ-12"."""
    return f"{ticket_kind(link)} {link.issue_key}"


def queue_sync_events(change: AnomalyChange, links: list[TicketLink]) -> list[SyncEvent]:
    """One event per link in ``links`` (the change's current links of the connected
    integration, read by the receiver); runs inside the change's transaction. A broken
    link's event fails at once, so the miss is visible (and can be retried if the issue
    comes back) instead of silently skipped.

    Each issue's queue row is locked before its event is written and stays locked until the
    change commits, so a later change to the same issue gets a later id: id order is commit
    order, per issue (docs/sync.md). Queues are locked in key order, so two changes sharing
    several issues cannot deadlock."""
    keyed = sorted(
        ((remote_issue_key(link.integration_id, link.issue_id), link) for link in links),
        key=lambda pair: pair[0],
    )
    kind = ChangeKind(change.kind)
    body = note_text(change)
    events = []
    for remote_issue, link in keyed:
        lock_queue(remote_issue, link.integration_id)
        event = SyncEvent.objects.create(
            link=link, remote_issue=remote_issue, kind=kind, body=body, created_at=change.at
        )
        if link.is_broken:
            broken = f"the {ticket_kind(link)} is a broken reference ({link.broken_reason})"
            _fail(event, f"Not sent: {broken}")
        events.append(event)
    hand_to_workers(
        [(event.pk, event.remote_issue) for event in events if event.state == SyncState.PENDING]
    )
    return events


def lock_queue(remote_issue: str, integration_id: int) -> SyncQueue:
    """The issue's queue row, created if new, locked until the transaction ends."""
    locked = SyncQueue.objects.select_for_update().filter(remote_issue=remote_issue).first()
    if locked is not None:  # the usual case: one query (bulk actions lock one per anomaly)
        return locked
    SyncQueue.objects.bulk_create(
        [SyncQueue(remote_issue=remote_issue, integration_id=integration_id)],
        ignore_conflicts=True,  # two first changes to one issue: one insert wins, both lock it
    )
    return SyncQueue.objects.select_for_update().get(remote_issue=remote_issue)


def enqueue_on_commit(event_ids: list[int], *, countdown: float | None = None) -> None:
    """Hand events to workers once the current transaction commits (never before: a worker
    must find the rows)."""
    if len(event_ids) == 1:
        transaction.on_commit(lambda: enqueue_delivery(event_ids[0], countdown=countdown))
    elif event_ids:
        transaction.on_commit(lambda: enqueue_deliveries(event_ids))


def enqueue_deliveries(event_ids: list[int]) -> None:
    """Hand several events to workers, stopping at the first broker failure: each failure
    costs a broker connection timeout, and the sweeper enqueues the rest anyway."""
    for event_id in event_ids:
        if not enqueue_delivery(event_id):
            return


def enqueue_delivery(event_id: int, *, countdown: float | None = None) -> bool:
    """Hand an event to a worker: the one place that does. The worker delivers it and the
    due events behind it on its ticket, DELIVERY_BATCH at a time, up to DELIVERY_ROUNDS
    batches. A broker outage only delays it: the sweeper finds it."""
    return publish(
        DELIVER_TASK, event_id, countdown=countdown, batch=DELIVERY_BATCH, rounds=DELIVERY_ROUNDS
    )


# --- delivering ------------------------------------------------------------------------

# How many due events of one remote ticket a worker claims, posts and records at a time,
# and how many such batches one task delivers before handing the rest to the broker
# (docs/sync.md, "Batches"). Every broker message carries both; a task called without them
# (a message published before batches existed) delivers one event.
DELIVERY_BATCH = 50
DELIVERY_ROUNDS = 4


def deliver_sync_event(event_id: int) -> str:
    """Deliver one event if it is due and first in its issue's queue. Returns the outcome."""
    return deliver_sync_events(event_id, limit=1)[0]


def deliver_sync_events(
    event_id: int, *, limit: int = DELIVERY_BATCH, rounds: int = 1
) -> list[str]:
    """Deliver the event, if it is due and first in its issue's queue, and the due events
    behind it on the same issue, ``limit`` at a time, for up to ``rounds`` batches; then
    hand the issue's next head to the broker. Returns one outcome per event tried
    ("skipped" if none was)."""
    outcomes: list[str] = []
    for round_number in range(rounds):
        delivered, next_head = _deliver_batch(event_id, limit)
        if round_number and not delivered:
            break  # the next head cannot be claimed right now: the broker hands it over
        outcomes += delivered
        if next_head is None:
            return outcomes or ["skipped"]
        event_id = next_head
    enqueue_delivery(event_id)
    return outcomes


def _deliver_batch(event_id: int, limit: int) -> tuple[list[str], int | None]:
    """One batch: the event and up to ``limit`` - 1 due events behind it, claimed together,
    posted in order, recorded together. It stops at the first event that is not delivered;
    that event gets the usual handling (retry, look again, hold, pause, fail) and the ones
    behind it go back to the queue unsent. Returns the outcomes and, when the queue may go
    on at once, the id of its next pending event."""
    batch = _claim(event_id, limit)
    if not batch:
        return [], None
    delivered: list[tuple[SyncEvent, str]] = []
    try:
        stopped, error = _post_in_order(batch, delivered)
    except BaseException:
        # Not a connector's answer (a bug, the worker stopping): what was delivered is
        # recorded; the event being sent stays "sending", so the sweeper marks its outcome
        # unknown and it is looked for first; the ones behind it go back unsent.
        _record_delivered(delivered, batch[len(delivered) + 1 :])
        raise
    _record_delivered(delivered, batch[len(delivered) + (stopped is not None) :])
    outcomes = ["delivered"] * len(delivered)
    if stopped is not None:
        outcomes.append(_settle_stopped(stopped, error))
    if stopped is None or outcomes[-1] == "failed":  # a finished event no longer holds the queue
        return outcomes, next_pending(batch[0].remote_issue)
    return outcomes, None


def _post_in_order(
    batch: list[SyncEvent], delivered: list[tuple[SyncEvent, str]]
) -> tuple[SyncEvent | None, Exception | None]:
    """Send the batch in order, appending (event, note id) to ``delivered``; returns the
    event that was not delivered and why, or (None, None)."""
    try:
        with pooled_connector_for(batch[0].link.integration) as connector:
            for event in batch:
                if delivered and not _lease_held(batch, len(delivered)):
                    return None, None  # the sweeper took the rest over: it is theirs now
                try:
                    delivered.append((event, _send(connector, event)))
                except (CredentialsUnreadable, StillLooking, ConnectorError) as error:
                    return event, error
    except CredentialsUnreadable as error:  # the stored credentials no longer decrypt
        return batch[0], error
    return None, None


class StillLooking(Exception):
    """An earlier send may still land: no note found yet, and the margin is not over."""

    def __init__(self, resend_at: datetime) -> None:
        super().__init__(f"not before {resend_at:%H:%M:%S}")
        self.resend_at = resend_at


def _settle_stopped(event: SyncEvent, error: Exception) -> str:
    """The outcome of the event a batch stopped at, recorded the way a single send's is."""
    if isinstance(error, CredentialsUnreadable):
        _pause_integration(event, str(error))
        return "paused"
    if isinstance(error, StillLooking):
        _look_again_later(event, error.resend_at)
        return "looking"
    return _handle_failure(event, error)


def _claim(event_id: int, limit: int) -> list[SyncEvent]:
    """Mark the event and up to ``limit`` - 1 due events right behind it as sending: one
    SELECT and one UPDATE in one transaction; empty if the event may not be sent now."""
    now = timezone.now()
    with transaction.atomic():
        run = _lock_run(event_id, limit)
        head = run[0] if run else None
        if head is None or head.pk != event_id or head.state != SyncState.PENDING:
            return []  # finished, being sent, or locked by another worker right now
        # One ticket, one integration: loaded (and its credentials decrypted) once.
        integration = TicketingIntegration.objects.get(pk=head.link.integration_id)
        for event in run:
            event.link.integration = integration
        if not _ready(head, now):
            return []
        batch = [head]
        if not head.outcome_unknown:  # an unknown outcome is looked for alone
            batch += _followers(run[1:], now)
        SyncEvent.objects.filter(pk__in=[event.pk for event in batch]).update(
            state=SyncState.SENDING, sending_since=now, attempts=F("attempts") + 1
        )
    for event in batch:
        event.state, event.sending_since, event.attempts = (
            SyncState.SENDING,
            now,
            event.attempts + 1,
        )
    return batch


def _lock_run(event_id: int, limit: int) -> list[SyncEvent]:
    """The unfinished events of the event's ticket from the event on, at most ``limit``,
    locked, each with its ``position`` among them (1 = the event itself; a row locked
    elsewhere is skipped, which leaves a gap in the positions), whether an unfinished event
    is ahead of the event (``waits_behind``), and whether the ticket has refusals counted
    (``refused_before``). skip_locked: a worker never waits for a row while holding one."""
    ticket = SyncEvent.objects.filter(pk=event_id).values("remote_issue")[:1]
    same_ticket = SyncEvent.objects.unfinished().filter(remote_issue=OuterRef("remote_issue"))
    position = (
        same_ticket.filter(pk__gte=event_id, pk__lte=OuterRef("pk"))
        .order_by()
        .values("remote_issue")
        .annotate(count=Count("pk"))
        .values("count")
    )
    refused = SyncQueue.objects.filter(remote_issue=OuterRef("remote_issue"), forbidden_count__gt=0)
    return list(
        SyncEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("link")  # the integration is read once, for the head (_claim)
        .filter(remote_issue=Subquery(ticket), state__in=UNFINISHED, pk__gte=event_id)
        .annotate(
            position=Subquery(position),
            waits_behind=Exists(same_ticket.filter(pk__lt=event_id)),
            refused_before=Exists(refused),
        )
        .order_by("pk")[:limit]
    )


def _followers(run: list[SyncEvent], now: datetime) -> list[SyncEvent]:
    """The events right behind the head that can go out with it: the run stops at the first
    one that is locked elsewhere, being sent, not due, waiting for a look, or whose link
    was removed or broke (each of those is sent later as the head of its own run)."""
    followers = []
    for position, event in enumerate(run, start=2):
        if event.position != position or not _goes_with_head(event, now):
            break
        followers.append(event)
    return followers


def _goes_with_head(event: SyncEvent, now: datetime) -> bool:
    link = event.link
    due = event.state == SyncState.PENDING and (
        event.next_attempt_at is None or event.next_attempt_at <= now
    )
    return due and not (link.removed_at or link.broken_reason or event.outcome_unknown)


def _lease_held(batch: list[SyncEvent], sent: int) -> bool:
    """Whether the rest of the batch is still this worker's to send. A claim is a lease of
    SYNC_SENDING_STALE_SECONDS, after which the sweeper hands the events to another worker
    as "outcome unknown". A batch that has used a quarter of it (a slow remote) renews it
    for the events still to send, and stops if the sweeper took them already."""
    claimed_at = batch[0].sending_since
    now = timezone.now()
    if now < claimed_at + timedelta(seconds=settings.SYNC_SENDING_STALE_SECONDS / 4):
        return True
    rest = batch[sent:]
    renewed = SyncEvent.objects.filter(
        pk__in=[event.pk for event in rest], state=SyncState.SENDING, sending_since=claimed_at
    ).update(sending_since=now)
    if renewed != len(rest):
        return False
    for event in batch:
        event.sending_since = now
    return True


def _ready(event: SyncEvent, now: datetime) -> bool:
    """Whether this event may be sent now; settles events that never will be."""
    link, integration = event.link, event.link.integration
    if integration.state != IntegrationState.CONNECTED or link.removed_at:
        event.finish(SyncState.CANCELLED, reason="The link or the integration is no longer active.")
        return False
    if link.broken_reason:
        _fail(event, f"The {ticket_kind(link)} is a broken reference: {link.broken_reason}")
        return False
    if integration.attention_reason:
        return False
    if event.next_attempt_at and event.next_attempt_at > now:
        return False
    if integration.rate_limited_until and integration.rate_limited_until > now:
        _postpone(event, integration.rate_limited_until)
        return False
    return not event.waits_behind  # annotated by _lock_run


def _send(connector, event: SyncEvent) -> str:
    link = event.link
    marker = str(event.uuid)
    if event.outcome_unknown:
        found = connector.find_note(link.issue_key, marker)
        if found:
            return found
        resend_at = resend_allowed_at(event)
        if resend_at > timezone.now():
            raise StillLooking(resend_at)
    return connector.post_note(link.issue_key, event.body, marker=marker)


def resend_allowed_at(event: SyncEvent) -> datetime:
    """When an event whose last send had an unknown outcome may be sent again: once the
    remote can no longer plausibly be completing that send (docs/sync.md, "Outcome
    unknown")."""
    if event.uncertain_since is None:  # recorded before this rule existed
        return timezone.now()
    return event.uncertain_since + timedelta(seconds=settings.SYNC_LOOKBACK_MARGIN_SECONDS)


def _look_again_later(event: SyncEvent, resend_at: datetime) -> None:
    connector = event.link.integration.connector_class
    event.wait_until(
        resend_at,
        reason=f"{connector.name} did not say whether it added the {connector.note_noun}, and "
        f"it is not there yet; looking again at {resend_at:%H:%M:%S} UTC before sending it "
        "again.",
    )
    enqueue_delivery(event.pk, countdown=(resend_at - timezone.now()).total_seconds())


def _record_delivered(delivered: list[tuple[SyncEvent, str]], unsent: list[SyncEvent]) -> None:
    """One transaction for a batch: the delivered events (one UPDATE), their history lines
    (one INSERT), and the claimed events that were not sent back to the queue (one UPDATE;
    not "outcome unknown": they never left)."""
    if not delivered and not unsent:
        return
    now = timezone.now()
    with transaction.atomic():
        if delivered:
            _mark_delivered([event for event, _ in delivered], [note for _, note in delivered], now)
        if unsent:
            _release(unsent)
    if delivered and delivered[0][0].refused_before:
        # The remote accepts this ticket again. Outside the transaction above: a queue row is
        # never locked while this worker waits for an anomaly row (a change holds them the
        # other way).
        SyncQueue.objects.filter(
            remote_issue=delivered[0][0].remote_issue, forbidden_count__gt=0
        ).update(forbidden_count=0, forbidden_at=None, forbidden_reason="", forbidden_project="")


def _mark_delivered(events: list[SyncEvent], note_ids: list[str], now: datetime) -> None:
    for event, note_id in zip(events, note_ids, strict=True):
        event.state, event.delivered_at = SyncState.DELIVERED, now
        event.remote_note_id, event.sending_since, event.last_error = str(note_id), None, ""
    # The links' `last_synced_at` is left alone: it says when their status was read, and
    # the page says "status read …" beside the badge; a delivery has its own time.
    _write_delivered(events, now)
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            anomaly_id=event.link.anomaly_id,
            action="sync_delivered",
            summary=f"{event.label} posted to {ticket_words(event.link)}"[:500],
            created_at=now,
        )
        for event in events
    )


def _write_delivered(events: list[SyncEvent], now: datetime) -> None:
    """One UPDATE: every event delivered at ``now``, each with its own note id. On
    PostgreSQL `UPDATE … FROM (VALUES …)`; elsewhere a CASE on the note id (Django's
    `bulk_update` builds a CASE per column, which cost more than the statement itself)."""
    if connection.vendor != "postgresql":
        note_for = Case(*(When(pk=e.pk, then=Value(e.remote_note_id)) for e in events))
        SyncEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            state=SyncState.DELIVERED,
            delivered_at=now,
            sending_since=None,
            last_error="",
            remote_note_id=note_for,
        )
        return
    quote = connection.ops.quote_name
    params: list = [SyncState.DELIVERED, now]
    for event in events:
        params += [event.pk, event.remote_note_id]
    rows = ", ".join(["(%s::bigint, %s)"] * len(events))
    # The table name comes from the model; every value is a bound parameter.
    sql = (
        f"UPDATE {quote(SyncEvent._meta.db_table)} AS t SET state = %s, "  # noqa: S608
        "delivered_at = %s, sending_since = NULL, last_error = '', remote_note_id = v.note "
        f"FROM (VALUES {rows}) AS v(id, note) WHERE t.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _release(events: list[SyncEvent]) -> None:
    """Claimed, never sent: pending again as they were. Only rows still under this claim (a
    sweeper that took them over owns them now)."""
    SyncEvent.objects.filter(
        pk__in=[event.pk for event in events],
        state=SyncState.SENDING,
        sending_since=events[0].sending_since,
    ).update(state=SyncState.PENDING, sending_since=None, attempts=F("attempts") - 1)
    for event in events:
        event.state, event.sending_since, event.attempts = (
            SyncState.PENDING,
            None,
            event.attempts - 1,
        )


def _handle_failure(event: SyncEvent, error: ConnectorError) -> str:
    if isinstance(error, CredentialsRejected):
        _pause_integration(event, f"{error.message} {error.hint}")
        return "paused"
    if isinstance(error, Forbidden):
        return _hold_forbidden_issue(event, error)
    if isinstance(error, NotFound):
        _break_link(event, error)
        return "failed"
    if error.permanent:
        _fail(event, f"{error.message} {error.hint}".strip())
        return "failed"
    return _retry_later(event, error)


def _retry_later(event: SyncEvent, error: ConnectorError) -> str:
    now = timezone.now()
    retry_after = error.retry_after
    delay = retry_after if retry_after is not None else backoff_seconds(event.attempts)
    if error.outcome_unknown:
        # The remote may still be working on the request we gave up on: look for its note
        # only once that request would have finished, so a late success is found, not
        # repeated.
        delay = max(delay, settings.JIRA_READ_TIMEOUT)
    if isinstance(error, RateLimited) and retry_after is not None:
        TicketingIntegration.objects.filter(pk=event.link.integration_id).update(
            rate_limited_until=now + timedelta(seconds=retry_after)
        )
    horizon = event.retry_horizon_start + timedelta(hours=settings.SYNC_RETRY_HORIZON_HOURS)
    if now + timedelta(seconds=delay) > horizon:
        _fail(event, f"Gave up after {event.attempts} attempts: {error.message}")
        return "failed"
    event.retry_at(
        now + timedelta(seconds=delay),
        reason=error.message,
        uncertain_since=now if error.outcome_unknown else None,  # that send ended now
    )
    enqueue_delivery(event.pk, countdown=delay)
    return "retry"


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±30% jitter (Atlassian's recommended range)."""
    base = settings.SYNC_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, settings.SYNC_BACKOFF_MAX_SECONDS) * random.uniform(0.7, 1.3)


def _postpone(event: SyncEvent, until: datetime) -> None:
    event.postpone(until)
    enqueue_on_commit([event.pk], countdown=max((until - timezone.now()).total_seconds(), 0))


def _hold_forbidden_issue(event: SyncEvent, error: Forbidden) -> str:
    """403 on one ticket: hold that ticket's queue only, then fail its events after
    SYNC_FORBIDDEN_ATTEMPTS refusals in a row; pause the integration only when the remote
    refuses tickets in several groups (Jira: projects) at once (docs/sync.md, "403 blast
    radius")."""
    now = timezone.now()
    link = event.link
    connector = link.integration.connector_class
    reason = f"{error.message} {error.hint}".strip()
    refused = _count_refusal(event, now, reason)
    refusals = f"{connector.name} refused access to {connector.ticket_noun} {link.issue_key}"
    with transaction.atomic():
        if refused >= settings.SYNC_FORBIDDEN_ATTEMPTS:
            _fail_queue(event, f"{refusals} {refused} times in a row: {reason}")
            delay = None
        else:
            delay = backoff_seconds(refused)
            event.wait_until(
                now + timedelta(seconds=delay), reason=f"{refusals}; retrying: {reason}"
            )
        _pause_if_refused_across_projects(link.integration, now, reason)
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
        connector = event.link.integration.connector_class
        queue.forbidden_project = connector.ticket_group(event.link.issue_key)
        queue.save()
    return queue.forbidden_count


def _fail_queue(event: SyncEvent, reason: str) -> None:
    """Fail the event and every event waiting behind it on the same ticket."""
    _fail(event, reason)
    for later in SyncEvent.objects.waiting_on(event.remote_issue).select_related("link__anomaly"):
        _fail(later, reason)


def _pause_if_refused_across_projects(
    integration: TicketingIntegration, now: datetime, reason: str
) -> None:
    since = now - timedelta(seconds=settings.SYNC_FORBIDDEN_WINDOW_SECONDS)
    groups = sorted(
        set(
            SyncQueue.objects.filter(
                integration=integration, forbidden_count__gt=0, forbidden_at__gte=since
            )
            .exclude(forbidden_project="")
            .values_list("forbidden_project", flat=True)
        )
    )
    if len(groups) >= settings.SYNC_FORBIDDEN_PROJECTS_TO_PAUSE:
        connector = integration.connector_class
        where = f"in {connector.ticket_group_noun} " if connector.ticket_group_noun else ""
        pause = (
            f"{connector.name} refused access to {connector.ticket_noun}s {where}"
            f"{', '.join(groups)}: {reason}"
        )
        TicketingIntegration.objects.filter(pk=integration.pk).update(attention_reason=pause[:500])
        on_integration_paused(integration.pk)


def _pause_integration(event: SyncEvent, reason: str) -> None:
    """401 (or unreadable credentials): stop sending for the whole integration until a
    Manager fixes the credentials, which are global."""
    with transaction.atomic():
        TicketingIntegration.objects.filter(pk=event.link.integration_id).update(
            attention_reason=reason[:500]
        )
        on_integration_paused(event.link.integration_id)
        event.pause(reason=reason)


def _break_link(event: SyncEvent, error: ConnectorError) -> None:
    """404: the ticket is gone for every anomaly linked to it, so each such link breaks and
    every event waiting for the ticket fails."""
    reason = error.message[:500]
    link = event.link
    with transaction.atomic():
        TicketLink.objects.current().filter(
            integration_id=link.integration_id, issue_id=link.issue_id
        ).update(broken_reason=reason)
        _fail_queue(event, f"The {ticket_kind(link)} was deleted or cannot be seen: {reason}")


def fail_pending_events(link: TicketLink, *, reason: str) -> int:
    """Fail a link's queued events at once, each with a history line, when its ticket is
    known to be gone (a webhook said so): retrying them could never succeed."""
    pending = SyncEvent.objects.filter(link=link, state=SyncState.PENDING).select_related(
        "link__anomaly"
    )
    failed = 0
    for event in pending:
        _fail(event, reason)
        failed += 1
    return failed


def _fail(event: SyncEvent, reason: str) -> None:
    event.finish(SyncState.FAILED, reason=reason)
    on_event_failed(event.pk)
    record_history(
        event.link.anomaly,
        action="sync_failed",
        summary=f"{event.label} to {ticket_words(event.link)} failed: {reason}",
    )


def enqueue_next(remote_issue: str) -> None:
    following = next_pending(remote_issue)
    if following:
        enqueue_delivery(following)


def next_pending(remote_issue: str) -> int | None:
    return SyncEvent.objects.waiting_on(remote_issue).values_list("pk", flat=True).first()


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
        uncertain_since=now,  # the lost send may have reached the remote up to now
        sending_since=None,
        last_error="The worker stopped while sending; looking for the note before resending.",
    )
    heads = due_heads(now)
    for event_id in heads:
        enqueue_delivery(event_id)
    return {"recovered": recovered, "enqueued": len(heads)}


def due_heads(now: datetime) -> list[int]:
    """The first unfinished event of each remote ticket, where it is pending and due,
    oldest first."""
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
    events = SyncEvent.objects.unfinished()
    if integration is not None:
        events = events.filter(link__integration=integration)
    if link is not None:
        events = events.filter(link=link)
    cancelled = list(events.select_related("link__integration"))
    _record_cancellations(cancelled, reason)
    return SyncEvent.objects.filter(pk__in=[event.pk for event in cancelled]).update(
        state=SyncState.CANCELLED, finished_reason=reason, sending_since=None
    )


def _record_cancellations(events: list[SyncEvent], reason: str) -> None:
    """One history line per anomaly and issue, so the anomaly shows what was not sent."""
    counts: dict[tuple[int, str, str], int] = {}
    for event in events:
        note = event.link.integration.connector_class.note_noun
        key = (event.link.anomaly_id, ticket_words(event.link), note)
        counts[key] = counts.get(key, 0) + 1
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            anomaly_id=anomaly_id,
            action="sync_cancelled",
            summary=f"{n} pending {note}{'s' if n != 1 else ''} to {words} cancelled: {reason}"[
                :500
            ],
        )
        for (anomaly_id, words, note), n in counts.items()
    )


@transaction.atomic
def retry_sync_event(event: SyncEvent) -> None:
    """Send a failed event again (Retry button, admin bulk action)."""
    event = SyncEvent.objects.select_for_update().select_related("link").get(pk=event.pk)
    if event.state != SyncState.FAILED:
        return
    if event.link.broken_reason:
        TicketLink.objects.filter(pk=event.link_id).update(broken_reason="")
    # A fresh set of tries for a ticket the remote refused (someone says it is fixed).
    SyncQueue.objects.filter(remote_issue=event.remote_issue).update(forbidden_count=0)
    event.send_again(at=timezone.now())
    enqueue_on_commit([event.pk])


def resume_integration(integration: TicketingIntegration) -> None:
    """After the credentials are fixed: enqueue the head of every waiting queue."""
    transaction.on_commit(lambda: enqueue_deliveries(due_heads(timezone.now())))
