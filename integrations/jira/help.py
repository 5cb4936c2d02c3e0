"""The FAQ's troubleshooting table for Jira, told with the names the connection test and
the anomaly page use; the hints are the ones the product itself shows."""

from ..connectors import Trouble
from . import errors
from .checks import CHECK_AUTHENTICATION, CHECK_ISSUE_TYPES, CHECK_PROJECT

TROUBLES = (
    Trouble(
        f"{CHECK_AUTHENTICATION} ✕ “Could not talk to Jira”",
        "Connection test",
        errors.HINT_CONNECTION_FAILED,
    ),
    Trouble(
        f"{CHECK_AUTHENTICATION} ✕ “Jira rejected the credentials.”",
        "Connection test",
        errors.HINT_CREDENTIALS,
    ),
    Trouble(f"{CHECK_PROJECT} ✕ “Jira refused access.”", "Connection test", errors.HINT_FORBIDDEN),
    Trouble(
        f"{CHECK_PROJECT} ✕ “Jira project not found.”",
        "Connection test",
        errors.HINT_PROJECT_NOT_FOUND,
    ),
    Trouble(f"{CHECK_ISSUE_TYPES} ✕", "Connection test", errors.HINT_ISSUE_TYPE_NOT_FOUND),
    Trouble("“Jira did not answer within …”", "Connection test", errors.HINT_NETWORK_TIMEOUT),
    Trouble(
        "Needs attention · Sync is paused",
        "Settings › Integrations, Linked Tickets",
        "Jira refused the stored credentials. A Manager opens Edit, enters a new "
        "email:api_token and saves; the paused comments are then sent.",
    ),
    Trouble(
        "Unknown status on a linked ticket",
        "Linked Tickets",
        "The link works but the status could not be read from Jira yet. Press Refresh; if it "
        "stays Unknown, the credentials may have expired (see Needs attention) or the issue "
        "was deleted.",
    ),
    Trouble("Broken reference", "Linked Tickets", errors.HINT_ISSUE_NOT_FOUND),
    Trouble(
        "Sync failed: … Retry",
        "Linked Tickets, Sync health",
        "The comment could not be delivered and will not be retried by itself. Fix the reason "
        "shown, then press Retry (Author).",
    ),
    Trouble(
        "N comments pending",
        "Linked Tickets, Sync health",
        "Comments are on their way; Jira may be slow or rate-limiting. They retry on their own "
        "with growing pauses for up to two days before failing visibly.",
    ),
)
