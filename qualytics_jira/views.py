"""Pages that belong to the product as a whole rather than to one app: help."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anomalies.models import Level
from anomalies.permissions import REQUIRED_LEVEL, Action
from integrations.jira import errors
from integrations.services.connection import (
    CHECK_AUTHENTICATION,
    CHECK_ISSUE_TYPES,
    CHECK_PROJECT,
)


@dataclass(frozen=True)
class Trouble:
    seen: str  # what the user sees, in the product's own words
    where: str
    what_to_do: str


# The FAQ's troubleshooting table, told with the names the connection test and the anomaly
# page use. The hints are the ones the product itself shows next to a failed check.
TROUBLES = [
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
]

ACTION_WORDS = {
    Action.VIEW: "See the anomaly, its linked tickets and their sync state",
    Action.CREATE_TICKET: "Create a Jira ticket from the anomaly",
    Action.COMMENT: "Comment (the comment is copied to every linked Jira issue)",
    Action.CHANGE_STATUS: "Acknowledge, archive and restore the anomaly",
    Action.LINK_TICKET: "Link an existing Jira issue, remove a link, retry a failed comment",
}


def _permission_rows() -> list[tuple[str, str]]:
    """(what, lowest team level) per anomaly action, lowest level first."""
    ordered = sorted(Action, key=lambda action: REQUIRED_LEVEL[action])
    return [(ACTION_WORDS[action], Level(REQUIRED_LEVEL[action]).label) for action in ordered]


def help_page(request: HttpRequest) -> HttpResponse:
    """Open to everyone, signed in or not: someone who cannot sign in needs it most."""
    context = {
        "troubles": TROUBLES,
        "permissions": _permission_rows(),
        "levels": [level.label for level in Level],
    }
    return render(request, "help.html", context)
