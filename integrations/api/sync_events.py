"""The sync truth of a ticket link through the JSON API: its state (paused with the reason,
failed, pending, delivered), and each unfinished or failed event with the id that
`POST /api/sync-events/{id}/retry` takes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from anomalies.api_http import ApiError, api_view
from anomalies.permissions import Action, get_anomaly_access

from ..models import SyncEvent, SyncState, TicketLink

LIST_LIMIT = 200


def sync_event_json(event: SyncEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "link_id": event.link_id,
        "kind": event.kind,
        "state": event.state,
        "attempts": event.attempts,
        "created_at": event.created_at,
        "next_attempt_at": event.next_attempt_at,
        "last_error": event.last_error,
        "failed_reason": event.finished_reason if event.state == SyncState.FAILED else "",
        "delivered_at": event.delivered_at,
        "retry_url": (
            reverse("integrations_api:retry_event", args=[event.pk])
            if event.state == SyncState.FAILED
            else None
        ),
    }


def link_sync_json(link: TicketLink) -> dict[str, Any]:
    """`link` as `TicketLink.objects.with_sync_state().with_open_events()` gives it."""
    open_events = getattr(link, "open_events", [])
    state, reason = _sync_state(link, open_events)
    errors = [event.last_error for event in open_events if event.last_error]
    return {
        "state": state,
        "reason": reason,
        "summary": f"{state}: {reason}" if reason else state,
        "pending": link.pending_count,
        "delivered": link.delivered_count,
        "cancelled": link.cancelled_count,
        "failed_reason": link.failed_reason or "",
        "last_error": errors[-1] if errors else (link.last_error or ""),
        "last_delivered_at": link.last_delivered_at,
        "events": [sync_event_json(event) for event in open_events],
    }


def _sync_state(link: TicketLink, open_events: list[SyncEvent]) -> tuple[str, str]:
    """What holds the link's comments: a pause (integration-wide, e.g. credentials) wins over
    a failure, which wins over plain waiting."""
    paused = link.integration.attention_reason
    if paused and link.pending_count:
        return "paused", paused
    if link.is_broken:
        return "broken", link.broken_reason
    if link.failed_event_id:
        return "failed", link.failed_reason or ""
    if link.pending_count:
        return "pending", ""
    if link.delivered_count:
        return "delivered", ""
    return "nothing_yet", ""


@api_view("GET")
def anomaly_sync_events(request: HttpRequest, anomaly_id: int):
    """The anomaly's sync events, newest first; `link` and `state` (comma-separated) filter."""
    access = get_anomaly_access(request.user, anomaly_id, Action.VIEW)
    events = SyncEvent.objects.filter(link__anomaly=access.anomaly).order_by("-pk")
    if link_id := request.GET.get("link", "").strip():
        if not link_id.isdigit():
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "Some filters are not valid.",
                fields={"link": "Give an id."},
            )
        events = events.filter(link_id=int(link_id))
    if states := [s for s in request.GET.get("state", "").split(",") if s.strip()]:
        unknown = sorted(set(states) - set(SyncState.values))
        if unknown:
            choices = ", ".join(SyncState.values)
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "Some filters are not valid.",
                fields={"state": f"Unknown state {', '.join(unknown)}; choose from {choices}."},
            )
        events = events.filter(state__in=states)
    return JsonResponse({"results": [sync_event_json(event) for event in events[:LIST_LIMIT]]})
