"""Reconnecting to the same site keeps its links.

The FAQ's remedy for an "Unknown" status or a regenerated token is "disconnect and reconnect".
A connection to the same connector and the same (normalised) host is the same site: the
links its earlier connections left as history are re-attached to the new one, refresh at once
and sync again from the moment of reconnection. Comments owed while it was disconnected are
kept as cancelled events and sent only when someone asks (per anomaly or in bulk). A different
site keeps its links as history.

Never two current links to one issue on one anomaly: when several earlier connections left a
link to the same issue on the same anomaly, the newest is re-attached and the others are
closed as duplicates.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from anomalies.models import Anomaly, HistoryEntry, User
from qualytics_jira.broker import publish

from ..connectors import get_connector
from ..models import (
    ChangeKind,
    IntegrationState,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from .sync import REFRESH_TASK, enqueue_deliveries, note_text

DISCONNECTED_REASON = "The integration was disconnected."
MISSED_REASON = "Not sent: the integration was disconnected at the time."
MISSED_REASONS = (DISCONNECTED_REASON, MISSED_REASON)


def same_site(connector: str, first: str, second: str) -> bool:
    return _site(connector, first) == _site(connector, second)


def _site(connector: str, host_url: str) -> str:
    try:
        return get_connector(connector).normalize_host_url(host_url, allow_insecure_loopback=True)
    except ValueError:
        return host_url.strip().lower().rstrip("/")


def earlier_connections_to(connector: str, host_url: str) -> list[TicketingIntegration]:
    """Disconnected integrations of ``connector`` on the same site as ``host_url``."""
    disconnected = TicketingIntegration.objects.filter(
        connector=connector, state=IntegrationState.DISCONNECTED
    )
    return [past for past in disconnected if same_site(connector, past.host_url, host_url)]


def history_links_of(integration: TicketingIntegration) -> QuerySet[TicketLink]:
    """Links that earlier connections to this integration's site left as history."""
    earlier = earlier_connections_to(integration.connector, integration.host_url)
    return TicketLink.objects.current().filter(integration__in=earlier)


def reattach_history_links(integration: TicketingIntegration) -> list[int]:
    """Move the same site's history links to ``integration`` (inside the connect's
    transaction); returns their ids. Their statuses refresh once the connect commits."""
    now = timezone.now()
    kept: dict[tuple[int, str], TicketLink] = {}
    duplicates: list[int] = []
    for link in history_links_of(integration).order_by("-linked_at", "-pk"):
        identity = (link.anomaly_id, link.issue_id or link.issue_key.upper())
        if identity in kept:
            duplicates.append(link.pk)
        else:
            kept[identity] = link
    TicketLink.objects.filter(pk__in=duplicates).update(removed_at=now)
    ids = [link.pk for link in kept.values()]
    TicketLink.objects.filter(pk__in=ids).update(integration=integration)
    _record_reattached(kept.values(), integration)
    transaction.on_commit(lambda: _refresh(ids))
    return ids


def reattach_history_link(
    anomaly: Anomaly, integration: TicketingIntegration, issue_id: str
) -> TicketLink | None:
    """The same site's history link to this issue on this anomaly, moved to ``integration``
    (linking an issue again re-attaches it instead of showing it twice)."""
    link = (
        history_links_of(integration)
        .filter(anomaly=anomaly, issue_id=issue_id)
        .order_by("-linked_at", "-pk")
        .first()
    )
    if link is None:
        return None
    link.integration = integration
    link.save(update_fields=["integration"])
    return link


def _record_reattached(links, integration: TicketingIntegration) -> None:
    kind = f"{integration.connector_class.name} {integration.connector_class.ticket_noun}"
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            anomaly_id=link.anomaly_id,
            action="ticket_reattached",
            summary=f"{kind} {link.issue_key} re-attached: {integration.host_url} was "
            "connected again",
        )
        for link in links
    )


def _refresh(link_ids: list[int]) -> None:

    if link_ids:  # one task; it reads the statuses in batches
        publish(REFRESH_TASK, link_ids=link_ids)


# --- comments owed while disconnected -------------------------------------------------------


def hold_missed_events(change, links: list[TicketLink]) -> None:
    """An anomaly change while ``links`` (its current links of a disconnected integration)
    cannot be reached: keep the comment as a cancelled event, so it can be sent if the same
    site is connected again and someone asks. Runs inside the change's transaction."""
    body = note_text(change) if links else ""
    SyncEvent.objects.bulk_create(
        SyncEvent(
            link=link,
            kind=ChangeKind(change.kind),
            body=body,
            created_at=change.at,
            state=SyncState.CANCELLED,
            finished_reason=MISSED_REASON,
        )
        for link in links
    )


def missed_events(
    anomaly: Anomaly | None = None, *, connected: TicketingIntegration | None = None
) -> QuerySet[SyncEvent]:
    """Notes of re-attached links that were not sent because the site was disconnected.
    ``connected``: the connected integration, when the caller has read it already."""
    since = connected.connected_at if connected is not None else _connected_since()
    events = SyncEvent.objects.filter(
        state=SyncState.CANCELLED,
        finished_reason__in=MISSED_REASONS,
        link__removed_at__isnull=True,
        link__integration__state=IntegrationState.CONNECTED,
        created_at__lt=since,
    )
    return events.filter(link__anomaly=anomaly) if anomaly is not None else events


def _connected_since():
    connected = TicketingIntegration.objects.connected().values_list("connected_at", flat=True)
    return connected.first() or timezone.now()


@transaction.atomic
def send_missed_events(*, by: User, anomaly: Anomaly | None = None) -> int:
    """Queue the missed comments (one anomaly's, or all) in their original order."""
    now = timezone.now()
    events = list(
        missed_events(anomaly).select_related("link").select_for_update(of=("self",)).order_by("pk")
    )
    ids = [event.pk for event in events]
    SyncEvent.objects.filter(pk__in=ids).update(
        state=SyncState.PENDING,
        attempts=0,
        next_attempt_at=None,
        finished_reason="",
        retried_at=now,
    )
    anomalies = {event.link.anomaly_id for event in events}
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            anomaly_id=anomaly_id,
            actor=by,
            action="sync_replayed",
            summary="Notes missed while the site was disconnected are being sent",
        )
        for anomaly_id in anomalies
    )
    transaction.on_commit(lambda: enqueue_deliveries(_heads(ids)))
    return len(ids)


def _heads(event_ids: list[int]) -> list[int]:
    """The first queued event of each link: the worker sends the rest in order."""
    first: dict[int, int] = {}
    for event_id, link_id in SyncEvent.objects.filter(pk__in=event_ids).values_list(
        "pk", "link_id"
    ):
        first[link_id] = min(event_id, first.get(link_id, event_id))
    return sorted(first.values())


__all__ = [
    "DISCONNECTED_REASON",
    "MISSED_REASON",
    "earlier_connections_to",
    "hold_missed_events",
    "missed_events",
    "reattach_history_link",
    "reattach_history_links",
    "send_missed_events",
]
