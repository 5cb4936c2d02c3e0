"""The anomaly list's ticket filters and Jira-key search, registered with anomalies.filters.

Only current links count (a removed link is history, not a ticket the anomaly has).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from anomalies.filters import ListFilter, register_list_filter, register_search_matcher
from anomalies.models import OPEN_STATUSES

from .connectors import CONNECTORS, get_connector
from .models import StatusCategory, SyncEvent, SyncState, TicketLink

TICKET_STATES = [
    ("has", "Has a ticket"),
    ("none", "No ticket"),
    ("sync_failed", "Sync failed"),
    ("sync_pending", "Sync pending"),
    ("done_open", "Ticket Done, anomaly still open"),
]
CATEGORY_CHOICES = [
    (StatusCategory.TO_DO.value, StatusCategory.TO_DO.label),
    (StatusCategory.IN_PROGRESS.value, StatusCategory.IN_PROGRESS.label),
    (StatusCategory.DONE.value, StatusCategory.DONE.label),
]


def _current_links(**conditions) -> Exists:
    return Exists(TicketLink.objects.current().filter(anomaly_id=OuterRef("pk"), **conditions))


def _events(*states: str) -> Exists:
    return Exists(
        SyncEvent.objects.filter(
            link__anomaly_id=OuterRef("pk"), link__removed_at__isnull=True, state__in=states
        )
    )


def filter_by_ticket(anomalies: QuerySet, value: str) -> QuerySet:
    if value == "has":
        return anomalies.filter(_current_links())
    if value == "none":
        return anomalies.filter(~_current_links())
    if value == "sync_failed":
        return anomalies.filter(_events(SyncState.FAILED))
    if value == "sync_pending":
        return anomalies.filter(_events(SyncState.PENDING, SyncState.SENDING))
    if value == "done_open":
        done = _current_links(status_category=StatusCategory.DONE)
        return anomalies.filter(done, status__in=OPEN_STATUSES)
    return anomalies


def filter_by_ticket_status(anomalies: QuerySet, value: str) -> QuerySet:
    return anomalies.filter(_current_links(status_category=value))


def match_issue_key(text: str) -> Q | None:
    """A ticket key of any registered connector (`DQ-1`, `INC0010001`, any case) finds the
    anomalies currently linked to that ticket."""
    keys = {get_connector(kind).normalize_key(text) for kind in CONNECTORS} - {None}
    if not keys:
        return None
    linked = TicketLink.objects.current().filter(issue_key__in=keys)
    return Q(pk__in=linked.values("anomaly_id"))


def register() -> None:
    register_list_filter(
        ListFilter(name="ticket", label="Ticket", choices=TICKET_STATES, apply=filter_by_ticket)
    )
    register_list_filter(
        ListFilter(
            name="ticket_status",
            label="Ticket status",
            choices=CATEGORY_CHOICES,
            apply=filter_by_ticket_status,
        )
    )
    register_search_matcher(match_issue_key)
