"""Searches that answer as the user types: the create form's people and groups (the assignee
typeahead) and the link form's suggestions.

Each distinct search reaches the remote once per ``TYPEAHEAD_CACHE_SECONDS``: typing, erasing
and typing the same letters again, or two people looking for the same colleague, cost one
remote call. Keys hold the integration's id and a digest of what was asked, never a secret
or the typed text itself.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from anomalies.validation import UNCLEAN_TEXT_MESSAGE, is_clean_text

from ..connectors import RemoteTicket
from ..errors import ConnectorError
from ..models import TicketingIntegration
from .clients import connector_for
from .tickets import TicketError

# Short: a colleague just given access appears within a minute, and remote rate limits are
# never spent twice on the same letters.
TYPEAHEAD_CACHE_SECONDS = 60
CHOICE_LIMIT = 20
SUGGESTION_LIMIT = 8


def typeahead_cache_key(integration: TicketingIntegration, *asked: str) -> str:
    digest = hashlib.sha256("\x1f".join(asked).encode()).hexdigest()[:32]
    return f"typeahead:{integration.pk}:{digest}"


def search_create_choices(
    integration: TicketingIntegration, field: str, words: str, *, scope: str
) -> list[tuple[str, str]]:
    """(value, label) choices of the create form's ``field`` matching ``words`` (cached)."""
    words = _clean_words(words)
    key = typeahead_cache_key(integration, "choices", field, scope, words.casefold())
    found = cache.get(key)
    if found is None:
        with connector_for(integration) as connector:
            try:
                found = connector.search_choices(field, words, scope=scope, limit=CHOICE_LIMIT)
            except ConnectorError as error:
                raise TicketError(f"{error.message} {error.hint}".strip()) from None
        cache.set(key, found, TYPEAHEAD_CACHE_SECONDS)
    return found


def suggest_tickets(integration: TicketingIntegration, words: str) -> list[RemoteTicket]:
    """A few tickets whose text matches ``words``, for the link form (cached)."""
    words = _clean_words(words)
    key = typeahead_cache_key(integration, "tickets", words.casefold())
    found = cache.get(key)
    if found is None:
        with connector_for(integration) as connector:
            try:
                found = connector.search_tickets(words, limit=SUGGESTION_LIMIT)
            except ConnectorError as error:
                raise TicketError(f"{error.message} {error.hint}".strip()) from None
        cache.set(key, found, TYPEAHEAD_CACHE_SECONDS)
    return found


def _clean_words(words: str) -> str:
    """Text no remote could be sent (docs: README "Input rules") never leaves the app."""
    words = " ".join(words.split())
    if not is_clean_text(words):
        raise TicketError(UNCLEAN_TEXT_MESSAGE)
    return words
