"""One activity timeline per anomaly: comments, status changes and ticket operations, oldest
first, with what other apps did for each change folded into it.

A change that reaches N linked tickets is one entry ("Acknowledged · comment delivered to
DQ-1, DQ-2; pending on DQ-3"): registered apps return their outcomes keyed by the change's
kind and time (`AnomalyChange.kind`, `.at`, which the services also give the history entry
and the comment), and may name history actions the folded outcomes replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import HttpRequest
from django.utils.safestring import SafeString

from .models import Comment, User
from .permissions import AnomalyAccess

# The latest changes shown; comments are all shown.
HISTORY_SHOWN = 200
# History written before entries carried the change's own time lags it by milliseconds.
SAME_CHANGE = timedelta(seconds=2)
# History lines a comment entry already tells (its text is shown instead).
TOLD_BY_COMMENTS = ("commented",)


@dataclass(frozen=True)
class FoldedOutcome:
    """What another app did for one change: keyed by its kind and time; `summary` names it
    when the change itself is not listed (older than the history shown)."""

    kind: str
    at: datetime
    summary: str
    html: SafeString


@dataclass
class TimelineEntry:
    at: datetime
    summary: str
    actor: User | None = None  # None: the system (the sync worker, a webhook)
    comment: Comment | None = None
    outcomes: list[SafeString] | None = None


def build_timeline(
    request: HttpRequest, access: AnomalyAccess, *, folders, hidden_actions
) -> list[TimelineEntry]:
    """The anomaly's entries, oldest first, each change with its folded outcomes."""
    anomaly = access.anomaly
    history = (
        anomaly.history.select_related("actor")
        .exclude(action__in=(*TOLD_BY_COMMENTS, *hidden_actions))
        .order_by("-created_at", "-id")[:HISTORY_SHOWN]
    )
    entries: dict[tuple[str, datetime], TimelineEntry] = {}
    for row in history:
        key = (row.action, row.created_at)
        entries[key if key not in entries else (row.action, row.pk)] = TimelineEntry(
            at=row.created_at, summary=row.summary, actor=row.actor
        )
    for comment in anomaly.comments.select_related("author"):
        entries[("commented", comment.created_at)] = TimelineEntry(
            at=comment.created_at, summary="Commented", actor=comment.author, comment=comment
        )
    for folder in folders:
        for outcome in folder(request, access):
            _fold(entries, outcome)
    return sorted(entries.values(), key=lambda entry: entry.at)


def _fold(entries: dict, outcome: FoldedOutcome) -> None:
    """Into the change's own entry; a change not listed gets an entry of its own."""
    key = _entry_key(entries, outcome)
    if key is None:
        key = (outcome.kind, outcome.at)
        entries[key] = TimelineEntry(at=outcome.at, summary=outcome.summary)
    entry = entries[key]
    entry.outcomes = [*(entry.outcomes or []), outcome.html]


def _entry_key(entries: dict, outcome: FoldedOutcome):
    """The change's entry: the same kind at the same time; for history written before the
    services gave it the change's time, the nearest of that kind a moment apart (the entry
    and the events were written in one transaction)."""
    if (outcome.kind, outcome.at) in entries:
        return (outcome.kind, outcome.at)
    near = [
        (abs(entry.at - outcome.at), key)
        for key, entry in entries.items()
        if key[0] == outcome.kind
        and not entry.outcomes
        and abs(entry.at - outcome.at) < SAME_CHANGE
    ]
    return min(near, key=lambda pair: pair[0])[1] if near else None
