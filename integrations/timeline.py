"""What the anomaly's activity timeline folds into each change: the change's note on every
linked ticket, and what became of it ("comment delivered to DQ-1, DQ-2; pending on DQ-3").

One change writes one sync event per linked ticket, all with the change's kind and time
(`queue_sync_events`), so the events sharing (kind, created_at) are that change's fan-out.
They are grouped here, at read time, from the events themselves: an event's state is what is
true now, and the worker's per-ticket history lines ("Comment posted to Jira issue DQ-2")
stay as the audit trail PRODUCT.md §2 asks for, only left out of the timeline (which shows
the same outcomes folded into the change that caused them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Subquery
from django.http import HttpRequest
from django.utils.html import format_html

from anomalies.timeline import FoldedOutcome

from .connectors import Connector, get_connector
from .models import ChangeKind, SyncEvent, SyncState

# History lines the timeline leaves out: the fan-outs below show the same outcomes.
FOLDED_ACTIONS = ("sync_delivered", "sync_failed")
# The newest fan-outs an anomaly page shows (its timeline shows the latest 200 changes).
FANOUTS_SHOWN = 200
_EVENTS_READ = 2000


@dataclass(frozen=True)
class Note:
    """One change's note on one ticket, as the timeline reads its sync event."""

    pk: int
    kind: str
    at: datetime
    state: str
    finished_reason: str
    issue_key: str
    connector_kind: str

    @property
    def label(self) -> str:
        return ChangeKind.label_of(self.kind)

    @property
    def connector(self) -> type[Connector]:
        return get_connector(self.connector_kind)


@dataclass
class Fanout:
    """One change's notes, one per ticket linked when it was made."""

    kind: str
    at: datetime
    events: list[Note] = field(default_factory=list)

    @property
    def first_event_id(self) -> int:
        return self.events[0].pk

    @property
    def dom_id(self) -> str:
        return f"fanout-{self.first_event_id}"

    @property
    def pending(self) -> bool:
        return any(event.state in (SyncState.PENDING, SyncState.SENDING) for event in self.events)

    def keys_in(self, *states: str) -> list[str]:
        return [event.issue_key for event in self.events if event.state in states]


# What a Note reads, as plain values: an anomaly with a few tickets and a long history has
# hundreds of events, and a model instance per event, ticket and integration (with its
# credentials decrypted each time) was most of the anomaly page's time (bench/pages.py).
NOTE_FIELDS = (
    "pk",
    "kind",
    "created_at",
    "state",
    "finished_reason",
    "link__issue_key",
    "link__integration__connector",
)


def fanouts(anomaly_id: int, *, first_event_ids: list[int] | None = None) -> list[Fanout]:
    """The anomaly's fan-outs, oldest first, in one query; or only those starting with
    ``first_event_ids`` (the live fragment asks again for those it showed pending)."""
    events = SyncEvent.objects.filter(link__anomaly_id=anomaly_id)
    if first_event_ids is not None:
        times = SyncEvent.objects.filter(pk__in=first_event_ids, link__anomaly_id=anomaly_id)
        events = events.filter(created_at__in=Subquery(times.values("created_at")))
    rows = events.order_by("-created_at", "-pk").values_list(*NOTE_FIELDS)
    grouped: dict[tuple[str, datetime], Fanout] = {}
    for row in list(rows[:_EVENTS_READ])[::-1]:
        note = Note(*row)
        key = (note.kind, note.at)
        grouped.setdefault(key, Fanout(kind=note.kind, at=note.at)).events.append(note)
    found = list(grouped.values())[-FANOUTS_SHOWN:]
    if first_event_ids is not None:
        found = [fanout for fanout in found if fanout.first_event_id in first_event_ids]
    return found


def fanouts_for_page(request: HttpRequest, anomaly_id: int) -> list[Fanout]:
    """`fanouts()` once per request: the timeline folds them in and the Linked Tickets
    section polls for the pending ones, from the same query."""
    cached = getattr(request, "_ticket_fanouts", None)
    if cached is None or cached[0] != anomaly_id:
        cached = (anomaly_id, fanouts(anomaly_id))
        request._ticket_fanouts = cached
    return cached[1]


def outcome_words(fanout: Fanout) -> str:
    """ "comment delivered to DQ-1, DQ-2; pending on DQ-3; failed on DQ-4 (reason)"."""
    noun = fanout.events[0].connector.note_noun
    parts = []
    delivered = fanout.keys_in(SyncState.DELIVERED)
    if delivered:
        parts.append(f"{noun} delivered to {', '.join(delivered)}")
    pending = fanout.keys_in(SyncState.PENDING, SyncState.SENDING)
    if pending:
        prefix = "" if parts else f"{noun} "
        parts.append(f"{prefix}pending on {', '.join(pending)}")
    failed = [event for event in fanout.events if event.state == SyncState.FAILED]
    if failed:
        prefix = "" if parts else f"{noun} "
        reasons = ", ".join(
            f"{event.issue_key} ({event.finished_reason.rstrip('.') or 'no reason'})"
            for event in failed
        )
        parts.append(f"{prefix}failed on {reasons}")
    cancelled = fanout.keys_in(SyncState.CANCELLED)
    if cancelled:
        prefix = "" if parts else f"{noun} "
        parts.append(f"{prefix}cancelled on {', '.join(cancelled)}")
    return "; ".join(parts)


def render_outcome(fanout: Fanout, *, oob: bool = False):
    """The outcome as the page shows it, in a region the live fragment can replace."""
    template = '<span class="fanout" id="{}" hx-swap-oob="innerHTML">{}</span>'
    if not oob:
        template = '<span class="fanout" id="{}">{}</span>'
    return format_html(template, fanout.dom_id, outcome_words(fanout))


def folded_outcomes(request: HttpRequest, access) -> list[FoldedOutcome]:
    """For anomalies' timeline: each fan-out, keyed by its change's kind and time."""
    found = []
    for fanout in fanouts_for_page(request, access.anomaly.pk):
        connector = fanout.events[0].connector
        found.append(
            FoldedOutcome(
                kind=fanout.kind,
                at=fanout.at,
                summary=f"{fanout.events[0].label} to {connector.name}",
                html=render_outcome(fanout),
            )
        )
    return found
