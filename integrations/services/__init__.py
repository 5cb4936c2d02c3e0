"""Services of the ticketing side: connection, ticket operations, and the sync outbox."""

from ..connectors import Check, ConnectionReport, Credentials
from .clients import connector_for, host_policy, open_connector
from .connection import (
    AlreadyConnected,
    check_connection,
    check_edited_connection,
    connect_integration,
    connected_integration,
    disconnect_integration,
    record_test,
    update_integration,
)
from .creating import CreateResult
from .sync import (
    cancel_pending_events,
    deliver_sync_event,
    deliver_sync_events,
    queue_sync_events,
    resume_integration,
    retry_sync_event,
    sweep_sync_events,
)
from .tickets import (
    LinkQuery,
    NewTicket,
    TicketError,
    create_ticket,
    create_ticket_once,
    link_existing_issue,
    parse_link_query,
    refresh_ticket_statuses,
    remove_ticket_link,
    search_tickets,
)

__all__ = [
    "AlreadyConnected",
    "Check",
    "ConnectionReport",
    "CreateResult",
    "Credentials",
    "LinkQuery",
    "NewTicket",
    "TicketError",
    "cancel_pending_events",
    "check_connection",
    "check_edited_connection",
    "connect_integration",
    "connected_integration",
    "connector_for",
    "create_ticket",
    "create_ticket_once",
    "deliver_sync_event",
    "deliver_sync_events",
    "disconnect_integration",
    "host_policy",
    "link_existing_issue",
    "open_connector",
    "parse_link_query",
    "queue_sync_events",
    "record_test",
    "refresh_ticket_statuses",
    "remove_ticket_link",
    "resume_integration",
    "retry_sync_event",
    "search_tickets",
    "sweep_sync_events",
    "update_integration",
]
