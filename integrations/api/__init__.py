"""The ticketing side of the JSON API (PRODUCT.md §6), mirroring `integrations.views`:
ticket operations on anomalies, and the integration itself."""

from .connection import integration, test_connection
from .sync_events import anomaly_sync_events
from .tickets import (
    create_ticket,
    form_specification,
    retry_sync_event,
    search_tickets,
    ticket_link,
    ticket_links,
)

__all__ = [
    "anomaly_sync_events",
    "create_ticket",
    "form_specification",
    "integration",
    "retry_sync_event",
    "search_tickets",
    "test_connection",
    "ticket_link",
    "ticket_links",
]
