"""The "Linked Tickets" section of the anomaly page, registered with anomalies.sections."""

import hashlib
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from anomalies.permissions import AnomalyAccess

from .connectors import connector_choices
from .link_attempts import recall_link_attempt
from .models import TicketLink
from .services import connected_integration
from .services.reconnect import missed_events
from .sync_wording import describe_sync
from .timeline import Fanout, fanouts_for_page, outcome_words

# A new link's status is read by a worker right after linking: the page waits this long for
# it before it stops asking.
STATUS_WAIT = timedelta(minutes=2)


def links_with_sync_state(anomaly_id: int):
    """The anomaly's current links with their sync summary, in one query."""
    links = TicketLink.objects.current().filter(anomaly_id=anomaly_id).with_sync_state()
    # The section never reads the secrets; not loading them spares a decryption per link.
    return links.defer("integration__credentials", "integration__webhook_secret")


def with_sync_lines(links: list[TicketLink]) -> list[TicketLink]:
    now = timezone.now()
    for link in links:
        link.sync_line = describe_sync(link, now=now)
    return links


def awaits_news(link: TicketLink) -> bool:
    """Something about the link will change by itself soon: a note is on its way, or the
    status of a just-linked ticket is being read."""
    if link.sync_line.tone == "pending":
        return True
    unread = link.last_synced_at is None and not link.is_broken and link.integration.is_connected
    return unread and link.linked_at > timezone.now() - STATUS_WAIT


def shown_state(links: list[TicketLink], fanouts: list[Fanout]) -> str:
    """A short digest of what the live regions show (not the relative times, which age by
    themselves): the fragment swaps them only when it changed, so a screen reader hears a
    sync line again only when it says something new."""
    parts = [
        f"{link.pk}|{link.sync_line.tone}|{link.sync_line.delivery}|{link.status_name}|"
        f"{link.status_category}|{link.broken_reason}|{link.status_error}|{link.last_synced_at}"
        for link in links
    ]
    parts += [f"{fanout.dom_id}|{outcome_words(fanout)}" for fanout in fanouts]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def poll_url(
    anomaly_id: int, links: list[TicketLink], fanouts: list[Fanout], *, quiet: int = 0
) -> str:
    """Where the page asks for news, naming the timeline's pending changes, what it shows
    now and how many answers in a row brought nothing new; empty when nothing is pending
    (the page then stops asking)."""
    watched = [fanout for fanout in fanouts if fanout.pending]
    if not watched and not any(awaits_news(link) for link in links):
        return ""
    query = {"seen": shown_state(links, watched)}
    if quiet:
        query["quiet"] = str(quiet)
    if watched:
        query["changes"] = ",".join(str(fanout.first_event_id) for fanout in watched)
    url = reverse("integrations:linked_tickets_live", args=[anomaly_id])
    return f"{url}?{urlencode(query)}"


def poll_seconds(quiet: int) -> int:
    """How long the page waits before asking again. Every 2 s while news is fresh (a
    comment usually lands within seconds, and the page should say so within ~2 s), then
    slower once nothing has changed for 30 s, and every 15 s after a further minute: a page
    left open while the workers are down costs little."""
    if quiet < 15:
        return 2
    return 5 if quiet < 27 else 15


# The sync log shows each link's latest events; `?events=all` shows its whole history.
EVENTS_SHOWN = 5


def render_linked_tickets(request, access: AnomalyAccess):
    integration = connected_integration()
    show_all = request.GET.get("events") == "all"
    context = {
        "anomaly": access.anomaly,
        "access": access,
        "integration": integration,
        "missed_count": (
            missed_events(access.anomaly, connected=integration).count() if integration else 0
        ),
        "connector": integration.connector_class if integration else None,
        "connector_names": " or ".join(name for _, name in connector_choices()),
        "show_all_events": show_all,
        "link_attempt": recall_link_attempt(request, access.anomaly.pk),
    }
    links = list(
        links_with_sync_state(access.anomaly.pk)
        .annotate(event_count=Count("sync_events"))
        .with_events_newest_first(latest=None if show_all else EVENTS_SHOWN)
    )
    context["links"] = with_sync_lines(links)
    context["poll_url"] = poll_url(
        access.anomaly.pk, links, fanouts_for_page(request, access.anomaly.pk)
    )
    return render_to_string("integrations/linked_tickets.html", context, request=request)
