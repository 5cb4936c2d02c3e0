"""The anomaly list's filters and search, shared by the page, the bulk actions and the API.

Other apps add filters and search matchers here at start-up (integrations: the ticket
filters and Jira keys), as they add sections to the anomaly page (`sections.py`), so this
app never imports a connector.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Anomaly, FailedCheck, User
from .validation import parse_id

# A UUID prefix: at least 6 hex digits (fewer would match too much to mean anything).
UUID_PREFIX = re.compile(r"[0-9a-fA-F-]{6,36}")
ASSIGNEE_FILTERS = [("", "Anyone"), ("me", "Assigned to me"), ("none", "Unassigned")]


@dataclasses.dataclass(frozen=True)
class ListFilter:
    """One select on the list: `apply(anomalies, value)` narrows the rows for a chosen value."""

    name: str
    label: str
    choices: list[tuple[str, str]]
    apply: Callable[[QuerySet, str], QuerySet]


# Given the search text, a condition on anomalies, or None when the text cannot match.
SearchMatcher = Callable[[str], Q | None]

_filters: dict[str, ListFilter] = {}
_search_matchers: list[SearchMatcher] = []


def register_list_filter(list_filter: ListFilter) -> ListFilter:
    _filters[list_filter.name] = list_filter
    return list_filter


def registered_filters() -> list[ListFilter]:
    return list(_filters.values())


def register_search_matcher(matcher: SearchMatcher) -> SearchMatcher:
    if matcher not in _search_matchers:
        _search_matchers.append(matcher)
    return matcher


def _uuid_prefix_match(text: str) -> Q | None:
    """A UUID or the start of one, with or without dashes, as a range of the uuid column:
    every uuid that starts with these hex digits lies between the prefix padded with 0s and
    with fs (Postgres orders uuids byte by byte, SQLite stores them as hex text: both agree
    with hex order), so the unique index answers it instead of a scan of every row."""
    if not UUID_PREFIX.fullmatch(text):
        return None
    hex_prefix = text.replace("-", "").lower()
    if len(hex_prefix) > 32:
        return None
    lowest = uuid.UUID(hex_prefix.ljust(32, "0"))
    highest = uuid.UUID(hex_prefix.ljust(32, "f"))
    return Q(uuid__range=(lowest, highest))


# Past this many description matches a word is common: walking the sorted list and testing
# each row finds a page sooner than collecting every match through the trigram index.
COMMON_WORD_MATCHES = 500


def _text_matches(text: str, others: list[Q]) -> Q:
    """The description/check-message condition, OR the ``others`` (id, uuid prefix, ticket
    keys), in the shape the indexes can serve.

    A rare word: the ids matching each condition, each found through its own index (the
    trigram indexes of anomalies/migrations/0004, the uuid's unique index, the link's key),
    joined by a UNION; an OR of them in one WHERE would make Postgres test every row. A
    common word: a per-row test, so the page query stops after its first rows in sort order.
    One bounded probe tells them apart (docs/performance.md).
    """
    by_description = Anomaly.objects.filter(description__icontains=text).order_by()
    by_check = FailedCheck.objects.filter(message__icontains=text).order_by()
    probe = by_description.values("pk")[: COMMON_WORD_MATCHES + 1]
    if len(probe) <= COMMON_WORD_MATCHES:
        ids = by_description.values("pk").union(
            by_check.values("anomaly_id"),
            *(Anomaly.objects.filter(other).order_by().values("pk") for other in others),
        )
        return Q(pk__in=ids)
    matches = Q(description__icontains=text) | Q(Exists(by_check.filter(anomaly_id=OuterRef("pk"))))
    for other in others:
        matches |= other
    return matches


def search(anomalies: QuerySet, text: str) -> QuerySet:
    """Free text over the id, uuid (or its prefix), description, failed-check messages and
    whatever registered matchers add (Jira keys); `#123` is an id."""
    if text.startswith("#") and text[1:].isdigit():
        return anomalies.filter(pk=parse_id(text[1:]) or 0)
    others = []
    if parse_id(text) is not None:
        others.append(Q(pk=parse_id(text)))
    for matcher in (_uuid_prefix_match, *_search_matchers):
        found = matcher(text)
        if found is not None:
            others.append(found)
    return anomalies.filter(_text_matches(text, others))


def filter_by_assignee(anomalies: QuerySet, value: str, user: User | None) -> QuerySet:
    if value == "me" and user is not None:
        return anomalies.filter(assignees=user)
    if value == "none":
        return anomalies.filter(assignees__isnull=True)
    return anomalies


def filter_anomalies(anomalies: QuerySet, form, *, user: User | None = None) -> QuerySet:
    """The datastore, type, assignee, registered and text filters of the list (the page,
    the bulk actions and the JSON API). `user` is who "Assigned to me" means."""
    datastore = form.cleaned_or_default("datastore", None)
    if datastore:
        anomalies = anomalies.filter(datastore_id=datastore)
    anomaly_type = form.cleaned_or_default("type", "")
    if anomaly_type:
        anomalies = anomalies.filter(anomaly_type=anomaly_type)
    anomalies = filter_by_assignee(anomalies, form.cleaned_or_default("assignee", ""), user)
    for list_filter in registered_filters():
        value = form.cleaned_or_default(list_filter.name, "")
        if value:
            anomalies = list_filter.apply(anomalies, value)
    text = form.cleaned_or_default("q", "")
    return search(anomalies, text) if text else anomalies
