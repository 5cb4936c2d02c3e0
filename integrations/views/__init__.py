from .connection import (
    connect_jira,
    disconnect,
    edit_integration,
    integration_list,
    replace_webhook_secret,
    send_missed_comments,
    set_up_webhook,
    sync_health_page,
    test_connection,
    turn_off_webhook,
)
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
from .webhooks import jira_webhook

__all__ = [
    "connect_jira",
    "create_ticket",
    "disconnect",
    "edit_integration",
    "healthz",
    "integration_list",
    "jira_webhook",
    "link_ticket",
    "metrics_view",
    "refresh_tickets",
    "remove_link",
    "replace_webhook_secret",
    "retry_event",
    "search_tickets",
    "send_anomaly_missed_comments",
    "send_missed_comments",
    "set_up_webhook",
    "sync_health_page",
    "test_connection",
    "turn_off_webhook",
]
