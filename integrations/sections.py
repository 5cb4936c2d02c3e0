"""The "Linked Tickets" section of the anomaly page, registered with anomalies.sections."""

from django.db.models import Count
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join

from anomalies.permissions import AnomalyAccess

from .connectors import connector_choices
from .link_attempts import recall_link_attempt
from .models import TicketLink
from .services import connected_integration
from .services.reconnect import missed_events


def links_with_sync_state(anomaly_id: int):
    """The anomaly's current links with their sync summary, in one query."""
    return TicketLink.objects.current().filter(anomaly_id=anomaly_id).with_sync_state()


# The sync log shows each link's latest events; `?events=all` shows its whole history.
EVENTS_SHOWN = 5


def render_linked_tickets(request, access: AnomalyAccess):
    integration = connected_integration()
    show_all = request.GET.get("events") == "all"
    context = {
        "anomaly": access.anomaly,
        "access": access,
        "integration": integration,
        "missed_count": missed_events(access.anomaly).count() if integration else 0,
        "connector": integration.connector_class if integration else None,
        "connector_names": " or ".join(name for _, name in connector_choices()),
        "show_all_events": show_all,
        "link_attempt": recall_link_attempt(request, access.anomaly.pk),
        "links": list(
            links_with_sync_state(access.anomaly.pk)
            .annotate(event_count=Count("sync_events"))
            .with_events_newest_first(latest=None if show_all else EVENTS_SHOWN)
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
            '<span class="row-tickets" title="Linked tickets">{}</span>',
            format_html_join(" ", '<span class="ticket-chip">{}</span>', ((k,) for k in found)),
        )
        for anomaly_id, found in keys.items()
    }
