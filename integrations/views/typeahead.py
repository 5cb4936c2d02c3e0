"""Answers to typeaheads: the create form's people and groups, the link form's suggestions.

Each answers with the options fragment (``_typeahead_options.html``) that
static/js/typeahead.js puts under the input; the count goes to the input's live region.
Access is the form's own: 404 for those who cannot see the anomaly, 403 for a level that
cannot create (or link).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET

from anomalies.permissions import Action, get_anomaly_access
from anomalies.validation import is_clean_text

from .. import services
from ..models import TicketingIntegration, TicketLink
from ..services import typeahead

# Fewer letters than this match too much of a ticketing system to be worth a search.
SUGGEST_MIN_LETTERS = 2


@login_required
@require_GET
def create_choices(request, anomaly_id: int):
    """People (or groups) for a create-form choice field, as the user types their name."""
    get_anomaly_access(request.user, anomaly_id, Action.CREATE_TICKET)
    integration = _usable_integration()
    field = request.GET.get("field", "")
    if integration is None or field not in integration.connector_class.searchable_fields:
        raise Http404("This field cannot be searched.")
    words = " ".join(request.GET.get("q", "").split())
    scope = request.GET.get("scope", "")
    if not words:
        return _options(request, [], "Type part of a name to see who matches.")
    if not is_clean_text(scope):
        raise Http404("No such scope.")
    try:
        found = typeahead.search_create_choices(integration, field, words, scope=scope)
    except services.TicketError as error:
        return _options(request, [], error.message)
    options = [{"value": value, "text": label, "label": label} for value, label in found]
    if not options:
        return _options(request, [], f"No one matches “{words}”.")
    return _options(request, options, _count_message(len(options)))


@login_required
@require_GET
def suggest_tickets(request, anomaly_id: int):
    """Tickets whose text matches what is typed in the link form; choosing one fills its key."""
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    integration = _usable_integration()
    if integration is None:
        raise Http404("No ticketing integration is connected.")
    connector = integration.connector_class
    words = " ".join(request.GET.get("q", "").split())
    key = connector.normalize_key(words)
    if key or words.lower().startswith(("http://", "https://")):
        # A key or an address: nothing to suggest, Link existing links it.
        return _options(request, [], f"Press Link existing to link {key or 'that address'}.")
    if len(words) < SUGGEST_MIN_LETTERS:
        noun = connector.ticket_noun
        hint = f"Type words from a {noun}'s summary, or a key like {connector.key_example}."
        return _options(request, [], hint)
    try:
        found = typeahead.suggest_tickets(integration, words)
    except services.TicketError as error:
        return _options(request, [], error.message)
    linked = _linked_keys(access.anomaly, integration)
    options = [
        {
            "value": ticket.key,
            "text": ticket.key,
            "label": f"{ticket.key} — {ticket.summary}" if ticket.summary else ticket.key,
            "note": "(already linked)" if ticket.key in linked else "",
        }
        for ticket in found
    ]
    if not options:
        return _options(
            request, [], f"No {connector.name} {connector.ticket_noun}s match “{words}”."
        )
    return _options(request, options, _count_message(len(options)))


def _usable_integration() -> TicketingIntegration | None:
    integration = services.connected_integration()
    if integration is None or not integration.credentials_readable:
        return None
    return integration


def _linked_keys(anomaly, integration) -> set[str]:
    links = TicketLink.objects.current().filter(anomaly=anomaly, integration=integration)
    return set(links.values_list("issue_key", flat=True))


def _count_message(count: int) -> str:
    return (
        f"{count} match{pluralize(count, 'es')}. Use the up and down arrows to choose, then Enter."
    )


def _options(request, options: list[dict], message: str):
    context = {"options": options, "message": message}
    return render(request, "integrations/_typeahead_options.html", context)
