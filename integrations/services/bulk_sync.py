"""The outbox for set-based bulk status changes (`anomalies_changed`): what queue_sync_events
and hold_missed_events do for one change, done for many in a constant number of queries.

The same guarantees as one change (docs/sync.md): the events are written in the change's
transaction, after every touched issue's queue row is locked (in key order, so no deadlock
with a single change), so their ids follow commit order per issue; a broken link's event
fails at once; a disconnected integration's link keeps its comment as a cancelled event.
"""

from __future__ import annotations

from django.db.models import Q

from anomalies.services import AnomalyChange

from ..models import IntegrationState, SyncEvent, SyncQueue, SyncState, TicketLink
from ..models import remote_issue_key as key_of
from .batching import hand_to_workers
from .reconnect import MISSED_REASON
from .sync import _fail, note_text, ticket_kind


def queue_sync_events_for_many(changes: list[AnomalyChange]) -> list[SyncEvent]:
    by_anomaly = {change.anomaly.pk: change for change in changes}
    links = list(
        TicketLink.objects.current()
        .filter(anomaly_id__in=by_anomaly)
        .filter(
            Q(integration__state=IntegrationState.CONNECTED)
            | Q(integration__state=IntegrationState.DISCONNECTED)
        )
        .select_related("integration")
        .order_by("anomaly_id", "issue_id", "pk")
    )
    connected = [link for link in links if link.integration.is_connected]
    _hold_missed([link for link in links if not link.integration.is_connected], by_anomaly)
    _lock_queues(connected)
    events = SyncEvent.objects.bulk_create(
        SyncEvent(
            link=link,
            remote_issue=key_of(link.integration_id, link.issue_id),
            kind=by_anomaly[link.anomaly_id].kind,
            body=note_text(by_anomaly[link.anomaly_id]),
            created_at=by_anomaly[link.anomaly_id].at,
        )
        for link in connected
    )
    for event in events:
        if event.link.is_broken:
            broken = f"the {ticket_kind(event.link)} is a broken reference"
            _fail(event, f"Not sent: {broken} ({event.link.broken_reason})")
    hand_to_workers(
        [(event.pk, event.remote_issue) for event in events if event.state == SyncState.PENDING]
    )
    return events


def _lock_queues(links: list[TicketLink]) -> None:
    """Every touched issue's queue row, created if new, locked in key order."""
    keys = {key_of(link.integration_id, link.issue_id): link.integration_id for link in links}
    if not keys:
        return
    SyncQueue.objects.bulk_create(
        [SyncQueue(remote_issue=key, integration_id=pk) for key, pk in keys.items()],
        ignore_conflicts=True,
    )
    list(
        SyncQueue.objects.select_for_update()
        .filter(remote_issue__in=list(keys))
        .order_by("remote_issue")
        .values_list("pk", flat=True)
    )


def _hold_missed(links: list[TicketLink], by_anomaly: dict[int, AnomalyChange]) -> None:
    SyncEvent.objects.bulk_create(
        SyncEvent(
            link=link,
            kind=by_anomaly[link.anomaly_id].kind,
            body=note_text(by_anomaly[link.anomaly_id]),
            created_at=by_anomaly[link.anomaly_id].at,
            state=SyncState.CANCELLED,
            finished_reason=MISSED_REASON,
        )
        for link in links
    )
