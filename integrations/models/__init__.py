"""The ticketing side, whatever the connector: the one integration, links from anomalies to
remote tickets, and the outbox of notes owed to them.

One module per concern: ``integration``, ``links``, ``sync`` (the outbox) and ``operations``.
"""

from .integration import (
    ChangeKind,
    Connector,
    CredentialsUnreadable,
    IntegrationState,
    TicketingIntegration,
)
from .links import (
    STORED_CATEGORIES,
    CreateAttempt,
    StatusCategory,
    TicketLink,
    stored_category,
)
from .operations import AlertNotice, WebhookDelivery, WorkerHeartbeat
from .sync import (
    OPEN_STATES,
    UNFINISHED,
    SyncEvent,
    SyncQueue,
    SyncState,
    remote_issue_key,
)

__all__ = [
    "OPEN_STATES",
    "STORED_CATEGORIES",
    "UNFINISHED",
    "AlertNotice",
    "ChangeKind",
    "Connector",
    "CreateAttempt",
    "CredentialsUnreadable",
    "IntegrationState",
    "StatusCategory",
    "SyncEvent",
    "SyncQueue",
    "SyncState",
    "TicketLink",
    "TicketingIntegration",
    "WebhookDelivery",
    "WorkerHeartbeat",
    "remote_issue_key",
    "stored_category",
]
