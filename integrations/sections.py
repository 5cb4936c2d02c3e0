"""The "Linked Tickets" section of the anomaly page, registered with anomalies.sections."""

from django.db.models import Count, Max, OuterRef, Prefetch, Q, Subquery
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

from anomalies.permissions import AnomalyAccess

from .models import SyncEvent, SyncState, TicketLink
from .services import connected_integration
from .services.reconnect import missed_events


def links_with_sync_state(anomaly_id: int):
    """Current links with their sync summary, in one query."""
    latest_failure = SyncEvent.objects.filter(link=OuterRef("pk"), state=SyncState.FAILED)
    latest_failure = latest_failure.order_by("-pk")
    return (
        TicketLink.objects.current()
        .filter(anomaly_id=anomaly_id)
        .select_related("integration")
        .annotate(
            pending_count=Count(
                "sync_events",
                filter=Q(sync_events__state__in=(SyncState.PENDING, SyncState.SENDING)),
            ),
            delivered_count=Count("sync_events", filter=Q(sync_events__state=SyncState.DELIVERED)),
            cancelled_count=Count("sync_events", filter=Q(sync_events__state=SyncState.CANCELLED)),
            last_delivered_at=Max("sync_events__delivered_at"),
            failed_event_id=Subquery(latest_failure.values("pk")[:1]),
            failed_reason=Subquery(latest_failure.values("finished_reason")[:1]),
            last_error=Subquery(
                SyncEvent.objects.filter(link=OuterRef("pk"), state=SyncState.PENDING)
                .exclude(last_error="")
                .order_by("pk")
                .values("last_error")[:1]
            ),
        )
    )


# The sync log shows each link's latest events; `?events=all` shows its whole history.
EVENTS_SHOWN = 5


def render_linked_tickets(request, access: AnomalyAccess):
    integration = connected_integration()
    show_all = request.GET.get("events") == "all"
    events = SyncEvent.objects.order_by("-pk")
    context = {
        "anomaly": access.anomaly,
        "access": access,
        "integration": integration,
        "missed_count": missed_events(access.anomaly).count() if integration else 0,
        "show_all_events": show_all,
        "links": list(
            links_with_sync_state(access.anomaly.pk)
            .annotate(event_count=Count("sync_events"))
            .prefetch_related(
                Prefetch(
                    "sync_events", events if show_all else events[:EVENTS_SHOWN], to_attr="events"
                )
            )
        ),
    }
    return render_to_string("integrations/linked_tickets.html", context, request=request)


def ticket_keys_by_anomaly(anomaly_ids: list[int]) -> dict:
    """For the anomaly list: the keys of each row's current links, in one query."""
    keys: dict[int, list[str]] = {}
    rows = (
        TicketLink.objects.current()
        .filter(anomaly_id__in=anomaly_ids)
        .order_by("linked_at", "pk")
        .values_list("anomaly_id", "issue_key")
    )
    for anomaly_id, issue_key in rows:
        keys.setdefault(anomaly_id, []).append(issue_key)
    return {
        anomaly_id: format_html(
            '<span class="row-tickets" title="Linked Jira issues">{}</span>',
            format_html_join(" ", '<span class="ticket-chip">{}</span>', ((k,) for k in found)),
        )
        for anomaly_id, found in keys.items()
    }
