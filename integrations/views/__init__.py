from .connection import (
    connect_jira,
    disconnect,
    edit_integration,
    integration_list,
    sync_health_page,
    test_connection,
)
from .tickets import (
    create_ticket,
    link_ticket,
    refresh_tickets,
    remove_link,
    retry_event,
    search_tickets,
)

__all__ = [
    "connect_jira",
    "create_ticket",
    "disconnect",
    "edit_integration",
    "integration_list",
    "link_ticket",
    "refresh_tickets",
    "remove_link",
    "retry_event",
    "search_tickets",
    "sync_health_page",
    "test_connection",
]
