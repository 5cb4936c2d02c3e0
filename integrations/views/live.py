"""The Linked Tickets section's live fragment: what changed since the page was drawn.

The anomaly page polls it (htmx, every 2 s, slower once nothing has changed for a while)
only while a note or a status is pending; the
answer swaps each link's badge and sync line, and the timeline outcomes the page watches, by
id. It holds no form, so nothing a person is typing is ever replaced.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from anomalies.permissions import get_anomaly_access

from ..sections import (
    links_with_sync_state,
    poll_seconds,
    poll_url,
    shown_state,
    with_sync_lines,
)
from ..timeline import fanouts, render_outcome

# At most this many timeline changes are watched per poll (a page shows a handful pending).
WATCHED_CHANGES = 50


def watched_changes(request) -> list[int]:
    raw = request.GET.get("changes", "")
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()]
    return ids[:WATCHED_CHANGES]


def quiet_polls(request) -> int:
    """How many answers in a row brought nothing new (the poller counts them in its URL)."""
    raw = request.GET.get("quiet", "")
    return min(int(raw), 1000) if raw.isdigit() else 0


@login_required
@require_GET
def linked_tickets_live(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id)  # 404 for outsiders, as the page
    if not request.htmx:  # a person who opened the address: the page it belongs to
        return redirect(reverse("anomalies:detail", args=[anomaly_id]) + "#linked-tickets")
    links = with_sync_lines(list(links_with_sync_state(anomaly_id)))
    watched = watched_changes(request)
    changes = fanouts(anomaly_id, first_event_ids=watched) if watched else []
    unchanged = request.GET.get("seen") == shown_state(links, changes)
    quiet = quiet_polls(request) + 1 if unchanged else 0
    context = {
        "access": access,
        # Nothing new: only the next poller, so no live region is redrawn (or read out).
        "links": [] if unchanged else links,
        "outcomes": [] if unchanged else [render_outcome(c, oob=True) for c in changes],
        "poll_url": poll_url(anomaly_id, links, changes, quiet=quiet),
        "poll_seconds": poll_seconds(quiet),
    }
    return render(request, "integrations/linked_tickets_live.html", context)
