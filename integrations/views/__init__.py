from .connection import (
    connect_integration,
    disconnect,
    edit_integration,
    integration_list,
    send_missed_comments,
    sync_health_page,
    test_connection,
)
from .live import linked_tickets_live
from .operations import healthz, metrics_view
from .tickets import (
    create_ticket,
    link_ticket,
    refresh_tickets,
    remove_link,
    retry_event,
    search_tickets,
)
from .tickets import send_missed_comments as send_anomaly_missed_comments
from .typeahead import create_choices, suggest_tickets

__all__ = [
    "connect_integration",
    "create_choices",
    "create_ticket",
    "disconnect",
    "edit_integration",
    "healthz",
    "integration_list",
    "link_ticket",
    "linked_tickets_live",
    "metrics_view",
    "refresh_tickets",
    "remove_link",
    "retry_event",
    "search_tickets",
    "send_anomaly_missed_comments",
    "send_missed_comments",
    "suggest_tickets",
    "sync_health_page",
    "test_connection",
]
