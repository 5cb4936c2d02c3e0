"""Pages that belong to the product as a whole rather than to one app: help."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anomalies.models import Level
from anomalies.permissions import REQUIRED_LEVEL, Action
from integrations.connectors import CONNECTORS, get_connector

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
        # The FAQ's troubleshooting table, per connector, in each one's own words.
        "troubles": [trouble for kind in CONNECTORS for trouble in get_connector(kind).troubles],
        "permissions": _permission_rows(),
        "levels": [level.label for level in Level],
    }
    return render(request, "help.html", context)
