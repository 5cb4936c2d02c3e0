"""The troubleshooting rows for ServiceNow, told with the names the connection test and the
anomaly page use; the hints are the ones the product itself shows."""

from ..connectors import Trouble
from . import errors

TROUBLES = (
    Trouble(
        "Authentication ✕ “Could not talk to ServiceNow”",
        "Connection test",
        errors.HINT_CONNECTION_FAILED,
    ),
    Trouble(
        "Authentication ✕ “ServiceNow rejected the credentials.”",
        "Connection test",
        errors.HINT_CREDENTIALS,
    ),
    Trouble(
        "Create and update incidents ✕ “ServiceNow refused access.”",
        "Connection test",
        errors.HINT_FORBIDDEN,
    ),
    Trouble(
        "Journal lookup: weaker guarantee",
        "Connection test, Settings",
        "The account cannot read sys_journal_field: grant it audit_viewer so that a re-sent "
        "work note is checked exactly.",
    ),
    Trouble(
        "“ServiceNow answered … instead of a JSON result”", "Anywhere", errors.HINT_UNAVAILABLE
    ),
    Trouble("Broken reference (ServiceNow)", "Linked Tickets", errors.HINT_NOT_FOUND),
)
