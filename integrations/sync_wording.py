"""One line per linked ticket that says what is true now, in the connector's own words.

"All 3 comments delivered · status read 2 minutes ago", "2 comments pending — Jira rate
limit reached, next try 14:05 UTC", "Failed: Jira rejected the request · Retry". The link is
one that `TicketLink.objects.with_sync_state()` annotated; the page and the live fragment
render the same `SyncLine`, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import ngettext

from .models import TicketLink


@dataclass(frozen=True)
class SyncLine:
    # "delivered", "pending", "failed" or "idle": how the line is styled, and whether the
    # page keeps asking for news ("pending").
    tone: str
    # What happened to the notes owed to the ticket.
    delivery: str
    # What we know of the ticket's status, and since when.
    status: str
    # The failed event a Retry would send again; None when there is nothing to retry.
    retry_event_id: int | None = None

    def __str__(self) -> str:
        return " · ".join(part for part in (self.delivery, self.status) if part)


def notes(count: int, noun: str) -> str:
    """ "1 comment", "3 work notes"."""
    return ngettext("%(count)d %(noun)s", "%(count)d %(noun)ss", count) % {
        "count": count,
        "noun": noun,
    }


def describe_sync(link: TicketLink, *, now: datetime | None = None) -> SyncLine:
    """The sync line of one annotated link, at ``now``."""
    now = now or timezone.now()
    if link.failed_event_id:
        tone, delivery = "failed", _failed(link)
    elif link.pending_count:
        tone, delivery = "pending", _pending(link, now)
    elif link.delivered_count:
        tone, delivery = "delivered", _delivered(link)
    else:
        tone, delivery = "idle", _nothing_sent(link)
    if link.cancelled_count:
        noun = link.integration.connector_class.note_noun
        delivery += f" · {notes(link.cancelled_count, noun)} cancelled"
    return SyncLine(
        tone=tone,
        delivery=delivery,
        status=_status(link, now),
        retry_event_id=link.failed_event_id if _retry_helps(link) else None,
    )


def _failed(link: TicketLink) -> str:
    text = f"Failed: {_clause(link.failed_reason) or 'no reason recorded'}"
    if link.is_broken:
        noun = link.integration.connector_class.ticket_noun
        text += f". Retrying cannot help while the {noun} is gone: remove the link or relink"
    return text


def _pending(link: TicketLink, now: datetime) -> str:
    noun = link.integration.connector_class.note_noun
    text = f"{notes(link.pending_count, noun)} pending"
    reason = _clause(link.last_error)
    if reason:
        text += f" — {reason}"
        if link.next_try_at and link.next_try_at > now:
            text += f", next try {timezone.localtime(link.next_try_at):%H:%M} UTC"
    else:
        text += " — sending"
    if link.delivered_count:
        text += f" · {link.delivered_count} delivered"
    return text


def _delivered(link: TicketLink) -> str:
    noun = link.integration.connector_class.note_noun
    count = link.delivered_count
    return ngettext("%(notes)s delivered", "All %(notes)s delivered", count) % {
        "notes": notes(count, noun)
    }


def _nothing_sent(link: TicketLink) -> str:
    noun = link.integration.connector_class.note_noun
    return f"No {noun}s sent yet"


def _status(link: TicketLink, now: datetime) -> str:
    """Whether the status badge is fresh: when the status was last read, or why it is not
    known. `last_synced_at` is only ever set when the status is read (refresh, webhook)."""
    if not link.integration.is_connected:
        return f"History only: {link.integration} is disconnected"
    if link.is_broken:
        return f"Broken reference: {_clause(link.broken_reason)}"
    if not link.status_name:
        name = link.integration.connector_class.name
        why = _clause(link.status_error) or f"not read from {name} yet"
        return f"status unknown: {why}"
    if link.last_synced_at is None:
        return "status not read yet"
    return f"status read {_ago(link.last_synced_at, now)}"


def _ago(moment: datetime, now: datetime) -> str:
    """Like humanize's naturaltime, but measured from ``now`` (naturaltime always measures
    from the clock, so a line built for a given moment would drift)."""
    seconds = int((now - moment).total_seconds())
    if seconds < 1:
        return "now"
    if seconds < 60:
        return ngettext("a second ago", "%(n)d seconds ago", seconds) % {"n": seconds}
    return f"{timesince(moment, now)} ago"


def _retry_helps(link: TicketLink) -> bool:
    return bool(link.failed_event_id) and not link.is_broken and link.integration.is_connected


def _clause(reason: str | None) -> str:
    """A stored reason as a clause inside the line: no trailing full stop."""
    return (reason or "").strip().rstrip(".")
