"""Jira webhooks (PRODUCT.md §7, two-way sync): Jira tells us at once when a linked issue
changes status or is deleted, instead of the anomaly page waiting for the periodic refresh.

Facts from docs/jira-api.md (Webhooks): an admin webhook with a secret signs each
delivery with `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`; every delivery
carries `X-Atlassian-Webhook-Identifier`, unchanged across Jira's retries; bodies are
v2-style, with the status under `issue.fields.status` and the event's time in `timestamp`.
The secret and the signature are never logged.

Replays: the signature covers the body only, not the identifier, so anyone who captured one
delivery could send it again under a fresh identifier. So dedup keys on the SHA-256 of the
signed body as well as on the identifier, and a body whose signed `timestamp` is missing,
older than ACCEPTED_AGE or further ahead than CLOCK_SKEW is refused; since digests are kept
for DELIVERY_RETENTION, longer than both together, every body we still accept is one whose
digest we still hold.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from anomalies.models import User
from anomalies.services import record_history
from anomalies.validation import InputRefused, parse_json_object

from ..models import TicketingIntegration, TicketLink, WebhookDelivery
from ..services.sync import fail_pending_events
from ..services.tickets import apply_status
from ..services.webhooks import DELIVERY_RETENTION, prune_webhook_deliveries
from .connector import remote_ticket
from .types import IssueSummary

__all__ = ["DELIVERY_RETENTION", "prune_webhook_deliveries", "receive_webhook"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_IDENTIFIER_LENGTH = 200  # the column's size; Jira's identifiers are far shorter
ISSUE_UPDATED = "jira:issue_updated"
ISSUE_DELETED = "jira:issue_deleted"
DELETED_REASON = "The issue was deleted in Jira."
DUPLICATE = "duplicate"
# Jira retries a failed delivery up to five times, 5–15 minutes apart (docs/jira-api.md):
# an event older than three days is no retry of Jira's but a replay. Deliveries (their
# identifiers and body digests) are kept longer than that window plus the clock skew.
ACCEPTED_AGE = timedelta(days=3)
CLOCK_SKEW = timedelta(hours=1)
Outcome = WebhookDelivery.Outcome


class WebhookRefused(Exception):
    """A delivery we do not act on; `status` is the HTTP answer, `message` its text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- setting up (Settings › Integrations) ---------------------------------------------------


def webhook_url(integration: TicketingIntegration) -> str:
    """What a Jira admin registers under System › WebHooks."""
    return settings.SITE_URL + reverse("integrations:jira_webhook", args=[integration.pk])


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def set_webhook_secret(integration: TicketingIntegration, *, by: User) -> str:
    """Set up the webhook, or replace its secret. Returns the new secret, to be shown once:
    from then on deliveries signed with any other secret are refused."""
    secret = new_webhook_secret()
    integration.webhook_secret = secret
    integration.save(update_fields=["webhook_secret"])
    logger.info("Jira webhook secret set for %s by %s.", integration, by)
    return secret


def turn_off_webhook(integration: TicketingIntegration, *, by: User) -> None:
    integration.webhook_secret = None
    integration.save(update_fields=["webhook_secret"])
    logger.info("Jira webhook turned off for %s by %s.", integration, by)


# --- receiving ----------------------------------------------------------------------------


def receive_webhook(
    integration: TicketingIntegration,
    *,
    body: bytes,
    signature: str | None,
    identifier: str | None,
) -> str:
    """Check and apply one delivery; returns its outcome (or "duplicate"). Raises
    WebhookRefused for a missing or wrong signature, a body that is not a JSON object within
    the input rules, or an event time outside the accepted window (a replay). A signed body
    of any other shape is recorded and ignored: never a 5xx that Jira would retry."""
    _check_identifier(identifier)  # first, so no hostile identifier reaches the logs
    _verify_signature(integration, body, signature, identifier)
    payload = _parse(body)
    happened_at = _fresh_event_time(payload)
    event = _text(payload.get("webhookEvent"))[:100]
    issue = _issue_in(payload)
    outcome = _record_and_apply(
        integration,
        event,
        issue,
        _Received(identifier, hashlib.sha256(body).hexdigest(), happened_at),
    )
    key = issue.key if issue else "-"
    logger.info("Jira webhook %s (%s %s) for %s: %s.", identifier, event, key, integration, outcome)
    return outcome


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """`sha256=<hex>` (the WebSub format Jira uses), compared in constant time."""
    method, _, given = header.partition("=")
    if method.strip().lower() != "sha256":
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _verify_signature(
    integration: TicketingIntegration, body: bytes, signature: str | None, identifier: str | None
) -> None:
    if not signature:
        logger.warning("Unsigned Jira webhook %s for %s refused.", identifier, integration)
        raise WebhookRefused(401, "The X-Hub-Signature header is missing.")
    if not integration.webhook_secret_readable:
        logger.warning(
            "Jira webhook %s for %s refused: the stored webhook secret cannot be read (a key "
            "changed); replace the secret in Settings › Integrations.",
            identifier,
            integration,
        )
        raise WebhookRefused(401, "The signature cannot be checked.")
    if not signature_matches(integration.webhook_secret, body, signature):
        logger.warning("Jira webhook %s for %s refused: wrong signature.", identifier, integration)
        raise WebhookRefused(401, "The signature does not match.")


def _check_identifier(identifier: str | None) -> None:
    # Printable: no NUL, lone surrogate or line break (which could forge a log line).
    if identifier and (len(identifier) > MAX_IDENTIFIER_LENGTH or not identifier.isprintable()):
        raise WebhookRefused(400, "The X-Atlassian-Webhook-Identifier header is not valid.")


def _parse(body: bytes) -> dict:
    try:
        return parse_json_object(body)
    except InputRefused as refusal:
        where = f" ({refusal.field})" if refusal.field else ""
        raise WebhookRefused(400, refusal.message + where) from None


def _fresh_event_time(payload: dict) -> datetime:
    """The event's signed time (`timestamp`, milliseconds since the epoch), or a 400 when it
    is missing or outside the accepted window: Jira does not retry a 400."""
    happened_at = _happened_at(payload)
    now = timezone.now()
    if happened_at is None:
        raise WebhookRefused(400, "The body has no valid timestamp.")
    if not now - ACCEPTED_AGE <= happened_at <= now + CLOCK_SKEW:
        raise WebhookRefused(
            400, "The event's timestamp is outside the accepted window; replays are refused."
        )
    return happened_at


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _issue_in(payload: dict) -> IssueSummary | None:
    """The issue the event is about, or None when it is missing or any part we read has the
    wrong type. Its v2 fields have the shape of REST v3's for what we read (summary, status
    name and category key)."""
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        return None
    fields = issue.get("fields") or {}
    status = (fields.get("status") or {}) if isinstance(fields, dict) else None
    category = (status.get("statusCategory") or {}) if isinstance(status, dict) else None
    if not isinstance(category, dict):  # so fields and status are objects too
        return None
    issue_id = issue.get("id", "")
    if isinstance(issue_id, int) and not isinstance(issue_id, bool):
        issue_id = str(issue_id)
    key, title = issue.get("key", ""), fields.get("summary") or ""
    status_name, category_key = status.get("name", ""), category.get("key", "")
    texts = (issue_id, key, title, status_name, category_key)
    if not all(isinstance(text, str) for text in texts):
        return None
    summary = IssueSummary(
        id=issue_id,
        key=key,
        summary=title,
        status_name=status_name,
        status_category_key=category_key,
        fields=fields,
    )
    return summary if summary.id or summary.key else None


def _happened_at(payload: dict) -> datetime | None:
    stamp = payload.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return None
    try:
        return datetime.fromtimestamp(stamp / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class _Received:
    """What identifies one delivery: Jira's identifier and the digest of its signed body."""

    identifier: str | None
    body_sha256: str
    happened_at: datetime


def _record_and_apply(
    integration: TicketingIntegration,
    event: str,
    issue: IssueSummary | None,
    received: _Received,
) -> str:
    with transaction.atomic():
        try:
            # A savepoint of its own: a repeat (Jira retrying a delivery whose answer it
            # missed, or a replay under a new identifier) fails on the unique identifier or
            # body digest, here or when a concurrent copy commits.
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    integration=integration,
                    identifier=received.identifier or None,
                    body_sha256=received.body_sha256,
                    event=event,
                    issue_key=issue.key[:64] if issue else "",
                    received_at=timezone.now(),
                    outcome=Outcome.IGNORED,
                )
        except IntegrityError:
            return DUPLICATE
        delivery.outcome = _apply(integration, event, issue, received.happened_at)
        delivery.save(update_fields=["outcome"])
    return delivery.outcome


def _apply(
    integration: TicketingIntegration,
    event: str,
    issue: IssueSummary | None,
    happened_at: datetime | None,
) -> str:
    if issue is None or event not in (ISSUE_UPDATED, ISSUE_DELETED):
        return Outcome.IGNORED
    if event == ISSUE_UPDATED and not issue.status_name:
        return Outcome.IGNORED  # nothing we show changed
    links = _current_links(integration, issue)
    if not links:
        return Outcome.NOT_LINKED
    if event == ISSUE_UPDATED:
        # Jira retries deliveries, so an update can arrive after a newer one: compare Jira's
        # timestamps with each other (never with our clock) and keep the newest.
        links = [link for link in links if not _seen_after(link, happened_at)]
        if not links:
            return Outcome.IGNORED
        _reflect_update(links, issue, happened_at)
    else:
        _reflect_deletion(links)
    return Outcome.APPLIED


def _seen_after(link: TicketLink, happened_at: datetime | None) -> bool:
    return bool(happened_at and link.status_event_at and link.status_event_at > happened_at)


def _current_links(integration: TicketingIntegration, issue: IssueSummary) -> list[TicketLink]:
    """By issue id, which survives a move to another project; by key when there is none."""
    match = Q(issue_id=issue.id) if issue.id else Q(issue_key=issue.key.upper())
    return list(
        TicketLink.objects.current()
        .filter(match, integration=integration)
        .select_related("anomaly")
        .select_for_update(of=("self",))
    )


def _reflect_update(
    links: list[TicketLink], issue: IssueSummary, happened_at: datetime | None
) -> None:
    now = timezone.now()
    for link in links:
        status_before = link.status_name
        apply_status(link, remote_ticket(issue), now)
        link.status_event_at = happened_at or link.status_event_at
        if link.status_name != status_before:
            record_history(
                link.anomaly,
                action="ticket_status_changed",
                summary=f"Jira issue {link.issue_key} moved to {link.status_name}",
            )
    TicketLink.objects.bulk_update(links, [*TicketLink.STATUS_FIELDS, "status_event_at"])


def _reflect_deletion(links: list[TicketLink]) -> None:
    """A broken reference at once (PRODUCT.md §4), and no comment left waiting for it."""
    now = timezone.now()
    for link in links:
        if not link.is_broken:
            record_history(
                link.anomaly,
                action="ticket_broken",
                summary=f"Jira issue {link.issue_key} was deleted in Jira",
            )
        link.mark_broken(DELETED_REASON, at=now)
        fail_pending_events(link, reason=f"Not sent: {DELETED_REASON}")
    TicketLink.objects.bulk_update(links, TicketLink.STATUS_FIELDS)
