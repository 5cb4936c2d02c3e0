"""The anomaly list's Tickets column, registered with anomalies.sections: each row's linked
tickets as links with their status, sync and broken-reference markers, and a poller that
refreshes the chips of rows whose comments are still syncing.

One query for a page of rows, whatever the number of rows or links (pinned by a test). The
chips are built in Python, like the rows they sit in (anomalies/views.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from anomalies.models import Anomaly

from .models import StatusCategory, SyncEvent, SyncState, TicketLink
from .models.sync import UNFINISHED

# The poller asks for at most one page of rows (the list's largest page size).
MAX_POLLED_ROWS = 100
POLL_EVERY = "2s"
NEW_TAB_HINT = mark_safe('<span class="visually-hidden"> (opens in a new tab)</span>')


@dataclass(frozen=True)
class RowTicket:
    key: str
    url: str
    status_name: str
    status_category: str
    broken: bool
    removed: bool
    pending: bool
    failed: bool


def _tickets_by_anomaly(anomaly_ids: list[int]) -> dict[int, list[RowTicket]]:
    """Every link of these anomalies, current and removed, with its sync state: one query.
    A removed link shows only when the anomaly has no current link to the same ticket."""
    events = SyncEvent.objects.filter(link=OuterRef("pk"))
    rows = (
        TicketLink.objects.filter(anomaly_id__in=anomaly_ids)
        .annotate(
            pending=Exists(events.filter(state__in=UNFINISHED)),
            failed=Exists(events.filter(state=SyncState.FAILED)),
        )
        .order_by("anomaly_id", "linked_at", "pk")
        .values_list(
            "anomaly_id", "integration_id", "issue_id", "issue_key", "url", "status_name",
            "status_category", "broken_reason", "removed_at", "pending", "failed",
        )
    )  # fmt: skip
    current: dict[int, dict[tuple, RowTicket]] = {}
    history: dict[int, dict[tuple, RowTicket]] = {}
    for (
        anomaly_id,
        integration_id,
        issue_id,
        key,
        url,
        name,
        category,
        broken,
        removed_at,
        *sync,
    ) in rows:
        ticket = RowTicket(key, url, name, category, bool(broken), removed_at is not None, *sync)
        shelf = history if ticket.removed else current
        shelf.setdefault(anomaly_id, {})[(integration_id, issue_id)] = ticket
    found: dict[int, list[RowTicket]] = {}
    for anomaly_id in anomaly_ids:
        now = current.get(anomaly_id, {})
        gone = [t for ident, t in history.get(anomaly_id, {}).items() if ident not in now]
        if now or gone:
            found[anomaly_id] = [*now.values(), *gone]
    return found


def _safe_href(url: str) -> str:
    # Stored links come from the connector's browse URL; anything else is never a link.
    return url if url.startswith(("https://", "http://")) else ""


def _status_badge(ticket: RowTicket) -> SafeString:
    if ticket.broken:
        return format_html(
            '<span class="badge jira-unknown" title="{}">Broken reference</span>',
            "The ticket was deleted, or the account cannot see it",
        )
    category = ticket.status_category or StatusCategory.UNKNOWN
    css = category or "unknown"
    label = ticket.status_name or "Unknown"
    return format_html('<span class="badge jira-{}">{}</span>', css, label)


def _sync_badge(ticket: RowTicket) -> SafeString:
    if ticket.failed:
        return mark_safe(' <span class="badge sync-failed">Sync failed</span>')
    if ticket.pending:
        return mark_safe(' <span class="badge sync-pending">Sync pending</span>')
    return mark_safe("")


def _ticket_html(ticket: RowTicket) -> SafeString:
    if ticket.removed:  # history only: no longer linked, told apart (no status: not refreshed)
        return format_html(
            '<span class="row-ticket ticket-history"><span class="ticket-chip">{}</span> '
            '<span class="muted">removed</span></span>',
            ticket.key,
        )
    href = _safe_href(ticket.url)
    chip = (
        format_html(
            '<a class="ticket-chip" href="{}" target="_blank" rel="noopener">{}{}</a>',
            href,
            ticket.key,
            NEW_TAB_HINT,
        )
        if href
        else format_html('<span class="ticket-chip">{}</span>', ticket.key)
    )
    return format_html(
        '<span class="row-ticket">{} {}{}</span>', chip, _status_badge(ticket), _sync_badge(ticket)
    )


def _cell_html(anomaly_id: int, tickets: list[RowTicket], *, out_of_band: bool = False) -> str:
    pending = any(t.pending and not t.removed for t in tickets)
    return format_html(
        '<span class="row-tickets" id="row-tickets-{}"{}{}>{}</span>',
        anomaly_id,
        mark_safe(" data-sync-pending") if pending else "",
        mark_safe(' hx-swap-oob="true"') if out_of_band else "",
        format_html_join("", "{}", ((_ticket_html(t),) for t in tickets)),
    )


def ticket_cells_by_anomaly(anomaly_ids: list[int]) -> dict[int, SafeString]:
    """The list's row annotator: each row's Tickets cell, for the rows that have one."""
    return {pk: _cell_html(pk, found) for pk, found in _tickets_by_anomaly(anomaly_ids).items()}


# --- live chips: only the rows still syncing are asked for, every POLL_EVERY -----------------


def _pending_ids(anomaly_ids: list[int]) -> list[int]:
    pending = SyncEvent.objects.filter(
        link__anomaly_id__in=anomaly_ids, link__removed_at__isnull=True, state__in=UNFINISHED
    )
    found = set(pending.values_list("link__anomaly_id", flat=True).distinct())
    return [pk for pk in anomaly_ids if pk in found]


def _poller_html(pending_ids: list[int]) -> SafeString:
    """The page's one poller: asks for the chips of the pending rows; without any, an inert
    placeholder, so polling stops. Without JavaScript it does nothing (a reload shows news)."""
    if not pending_ids:
        return mark_safe('<div id="ticket-poller"></div>')
    query = QueryDict(mutable=True)
    query.setlist("ids", [str(pk) for pk in pending_ids])
    return format_html(
        '<div id="ticket-poller" hx-get="{}?{}" hx-trigger="every {}" hx-swap="outerHTML"></div>',
        reverse("integrations:row_tickets"),
        query.urlencode(),
        POLL_EVERY,
    )


def ticket_poller(anomaly_ids: list[int]) -> SafeString:
    """The list's footer: the poller for this page's pending rows (one query)."""
    return _poller_html(_pending_ids(anomaly_ids))


def _requested_ids(request: HttpRequest) -> list[int]:
    ids = []
    for value in request.GET.getlist("ids")[:MAX_POLLED_ROWS]:
        if value.isdigit() and len(value) < 19:
            ids.append(int(value))
    return ids


@require_GET
@login_required
def row_tickets(request: HttpRequest) -> HttpResponse:
    """The chips of the asked-for rows the user can see (each swapped in by its id), and the
    poller for those still pending. Only htmx asks; a browser is sent to the list."""
    if not request.htmx:
        return redirect("anomalies:list")
    asked = _requested_ids(request)
    visible = set(
        Anomaly.objects.visible_to(request.user).filter(pk__in=asked).values_list("pk", flat=True)
    )
    ids = [pk for pk in asked if pk in visible]
    found = _tickets_by_anomaly(ids)
    cells = "".join(_cell_html(pk, found.get(pk, []), out_of_band=True) for pk in ids)
    pending = [pk for pk in ids if any(t.pending and not t.removed for t in found.get(pk, []))]
    response = HttpResponse(_poller_html(pending) + mark_safe(cells))  # noqa: S308
    response["Cache-Control"] = "no-store"
    return response
