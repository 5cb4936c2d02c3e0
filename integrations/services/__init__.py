"""Services of the ticketing side: connection, ticket operations, and the sync outbox."""

from .clients import Credentials, client_for, host_policy
from .connection import (
    AlreadyConnected,
    Check,
    ConnectionReport,
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
    queue_sync_events,
    resume_integration,
    retry_sync_event,
    sweep_sync_events,
)
from .tickets import (
    LinkQuery,
    NewIssue,
    TicketError,
    create_ticket,
    create_ticket_once,
    link_existing_issue,
    parse_link_query,
    refresh_ticket_statuses,
    remove_ticket_link,
    search_issues,
)

__all__ = [
    "AlreadyConnected",
    "Check",
    "ConnectionReport",
    "CreateResult",
    "Credentials",
    "LinkQuery",
    "NewIssue",
    "TicketError",
    "cancel_pending_events",
    "check_connection",
    "check_edited_connection",
    "client_for",
    "connect_integration",
    "connected_integration",
    "create_ticket",
    "create_ticket_once",
    "deliver_sync_event",
    "disconnect_integration",
    "host_policy",
    "link_existing_issue",
    "parse_link_query",
    "queue_sync_events",
    "record_test",
    "refresh_ticket_statuses",
    "remove_ticket_link",
    "resume_integration",
    "retry_sync_event",
    "search_issues",
    "sweep_sync_events",
    "update_integration",
]
