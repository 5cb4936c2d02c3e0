"""Ticket operations on an anomaly: create a remote ticket, link one, remove a link, refresh."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from anomalies.models import Anomaly, User
from anomalies.services import record_history
from anomalies.validation import UNCLEAN_TEXT_MESSAGE, is_clean_text
from qualytics_jira.broker import publish

from .. import outbound
from ..connectors import Connector, CreateFormSpec, RemoteTicket, TicketDraft
from ..errors import ConnectorError, CredentialsRejected, NotFound
from ..models import (
    CredentialsUnreadable,
    IntegrationState,
    StatusCategory,
    TicketingIntegration,
    TicketLink,
)
from .clients import connector_for, pooled_connector_for
from .creating import (
    CreateOutcomeUnknown,
    CreateResult,
    FormReused,
    NothingCreated,
    create_once,
)
from .reconnect import reattach_history_link
from .refresh_writes import save_refreshed, shown_status
from .sync import REFRESH_TASK, cancel_pending_events, ticket_words

logger = logging.getLogger(__name__)

MAX_SEARCH_RESULTS = 20


class TicketError(Exception):
    """A ticket operation that did not happen; the message is for the user."""

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, str] | None = None,
        remote_outage: bool = False,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        # The remote unreachable, failing or refusing our credentials: not the user's input
        # to fix.
        self.remote_outage = remote_outage
        # A create that the remote may have done: say so, never "nothing was created".
        self.outcome_unknown = outcome_unknown
        # Seconds the ticketing system asked us to wait (a 429's Retry-After), when it did.
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class NewTicket:
    """What the Create Ticket form collected: ``values`` by the connector's field names,
    choices from the remote's own create metadata (``spec``, the form they came from)."""

    scope: str
    summary: str
    description: str = ""
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    spec: CreateFormSpec | None = None

    def draft(self, anomaly: Anomaly, *, linked_at) -> TicketDraft:
        description = outbound.issue_description(
            anomaly,
            user_description=self.description,
            linked_at=linked_at,
            site_url=settings.SITE_URL,
        )
        values = {"summary": self.summary, **self.values}
        return TicketDraft(self.scope, self.summary, description, values, self.spec)


def create_ticket(
    anomaly: Anomaly,
    ticket: NewTicket,
    *,
    integration: TicketingIntegration,
    by: User,
    token: str | None = None,
) -> TicketLink:
    """Create the remote ticket (synchronously), then store the link. Raises TicketError."""
    return create_ticket_once(anomaly, ticket, integration=integration, by=by, token=token).link


def create_ticket_once(
    anomaly: Anomaly,
    ticket: NewTicket,
    *,
    integration: TicketingIntegration,
    by: User,
    token: str | None = None,
) -> CreateResult:
    """Create the ticket once per ``token`` (the submitted form's): a repeat of the same form
    returns the ticket created the first time, and a lost answer is looked up by marker
    (services/creating.py). Without a token, the request is its own form. Raises TicketError."""
    linked_at = timezone.now()
    words = integration.connector_class.name

    def store(connector: Connector, found: RemoteTicket, fresh: bool) -> TicketLink:
        details = _fetch_quietly(connector, found.key) if fresh else found
        existing = existing_current_link(anomaly, integration, found.id)
        if existing is not None:  # linked by hand meanwhile: that link is the one
            return existing
        return _store_link(
            anomaly,
            integration=integration,
            by=by,
            origin=TicketLink.Origin.CREATED,
            issue_id=found.id,
            issue_key=found.key,
            url=connector.browse_url(found.key),
            summary=details.summary if details and details.summary else ticket.summary,
            details=details,
        )

    try:
        return create_once(
            anomaly,
            ticket.draft(anomaly, linked_at=linked_at),
            token=token or f"request:{uuid.uuid4()}",
            integration=integration,
            by=by,
            store_link=store,
        )
    except ConnectorError as error:
        raise _ticket_error(error, words) from None
    except NothingCreated as lost:
        noun = integration.connector_class.ticket_noun
        raise TicketError(
            f"{lost.error.message} {words}'s answer was lost, so Qualytics asked {words}: it "
            f"has no {noun} from this form. Nothing was created; you can submit again.",
            remote_outage=True,
        ) from None
    except CreateOutcomeUnknown as unknown:
        noun = integration.connector_class.ticket_noun
        raise TicketError(
            f"{unknown.reason} Whether {words} created the {noun} is not known yet: {words} "
            "could not be asked. Submitting the same form again is safe: Qualytics first "
            f"looks for the {noun} and links it instead of creating a second one.",
            remote_outage=True,
            outcome_unknown=True,
        ) from None
    except FormReused:
        raise TicketError(
            f"This form was already used for another anomaly. Open Create {words} ticket again."
        ) from None


def existing_current_link(anomaly: Anomaly, integration, issue_id: str) -> TicketLink | None:
    return (
        TicketLink.objects.current()
        .filter(anomaly=anomaly, integration=integration, issue_id=issue_id)
        .first()
    )


def _ticket_error(error: ConnectorError, name: str) -> TicketError:
    field_errors = dict(getattr(error, "field_errors", {}) or {})
    message = error.message if not field_errors else f"{name} did not accept some of the fields."
    hint = f" {error.hint}" if error.hint and not field_errors else ""
    outage = not error.permanent or isinstance(error, CredentialsRejected)
    return TicketError(
        f"{message}{hint}",
        field_errors=field_errors,
        remote_outage=outage,
        retry_after=getattr(error, "retry_after", None),
    )


def _fetch_quietly(connector: Connector, key: str) -> RemoteTicket | None:
    """The new ticket's status; if the remote is slow to answer, the refresh fills it in."""
    try:
        return connector.get_ticket(key)
    except ConnectorError as error:
        logger.info("Status of %s not fetched yet: %s", key, error.message)
        return None


def _store_link(
    anomaly: Anomaly,
    *,
    integration: TicketingIntegration,
    by: User,
    origin: str,
    issue_id: str,
    issue_key: str,
    url: str,
    summary: str,
    details: RemoteTicket | None,
) -> TicketLink:
    now = timezone.now()
    reattached = reattach_history_link(anomaly, integration, issue_id)
    if reattached is not None:  # the same site's history link: one link, not two
        return _refreshed(reattached, details, now)
    link = TicketLink(
        anomaly=anomaly,
        integration=integration,
        origin=origin,
        issue_id=issue_id,
        issue_key=issue_key,
        url=url,
        summary=summary[:500],
        linked_by=by,
        linked_at=now,
    )
    if details:
        apply_status(link, details, now)
    try:
        with transaction.atomic():
            link.save()
            verb = "Created" if origin == TicketLink.Origin.CREATED else "Linked"
            record_history(
                anomaly,
                action=f"ticket_{origin}",
                actor=by,
                summary=f"{verb} {ticket_words(link)}",
            )
    except IntegrityError:
        raise TicketError(f"{issue_key} is already linked to this anomaly.") from None
    _refresh_soon(link)
    return link


def _refreshed(link: TicketLink, details: RemoteTicket | None, now) -> TicketLink:
    if details:
        apply_status(link, details, now)
        link.save(update_fields=list(TicketLink.STATUS_FIELDS))
    else:
        _refresh_soon(link)
    return link


def apply_status(link: TicketLink, ticket: RemoteTicket, now) -> None:
    link.show_status(summary=ticket.summary, status=ticket.status, at=now)


def _refresh_soon(link: TicketLink) -> None:
    # If the broker is down, the periodic refresh catches up.
    transaction.on_commit(lambda: publish(REFRESH_TASK, link_ids=[link.pk]))


# --- linking existing issues ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LinkQuery:
    """What the one "link existing" box holds: a key, a browse URL, or words to search."""

    key: str | None
    words: str


def parse_link_query(text: str, connector: Connector) -> LinkQuery:
    text = text.strip()
    _refuse_unclean(text)
    key = connector.normalize_key(text)
    if key is not None:
        return LinkQuery(key=key, words="")
    if text.lower().startswith(("http://", "https://")):
        key = connector.key_from_url(text)
        if key is None:
            raise TicketError(
                f"That URL is not an {connector.ticket_noun} of the connected {connector.name} "
                f"site ({connector.host_url})."
            )
        return LinkQuery(key=key, words="")
    return LinkQuery(key=None, words=text)


def search_tickets(integration: TicketingIntegration, words: str) -> list[RemoteTicket]:
    _refuse_unclean(words)
    with connector_for(integration) as connector:
        try:
            return connector.search_tickets(words, limit=MAX_SEARCH_RESULTS)
        except ConnectorError as error:
            raise TicketError(f"{error.message} {error.hint}") from None


def _refuse_unclean(text: str) -> None:
    """Text no remote could be sent (docs: README "Input rules") never leaves the app."""
    if not is_clean_text(text):
        raise TicketError(UNCLEAN_TEXT_MESSAGE)


def link_existing_issue(
    anomaly: Anomaly, issue_key: str, *, integration: TicketingIntegration, by: User
) -> TicketLink:
    """Link a ticket that exists and is visible. The remote itself is not modified."""
    issue_key = integration.connector_class.normalize_key(issue_key) or issue_key.strip()
    if (
        TicketLink.objects.current()
        .filter(anomaly=anomaly, integration=integration, issue_key=issue_key)
        .exists()
    ):
        raise TicketError(f"{issue_key} is already linked to this anomaly.")
    with connector_for(integration) as connector:
        try:
            issue = connector.get_ticket(issue_key)
        except NotFound:
            name = connector.name
            raise TicketError(
                f"{issue_key} was not found in {name}, or the {name} account cannot see it. "
                "Check the key, and that the account has access to it."
            ) from None
        except ConnectorError as error:
            raise TicketError(f"{error.message} {error.hint}") from None
        url = connector.browse_url(issue.key)
    return _store_link(
        anomaly,
        integration=integration,
        by=by,
        origin=TicketLink.Origin.LINKED,
        issue_id=issue.id,
        issue_key=issue.key,
        url=url,
        summary=issue.summary,
        details=issue,
    )


@transaction.atomic
def remove_ticket_link(link: TicketLink, *, by: User) -> None:
    """Immediate; the remote is untouched; pending notes for this ticket are cancelled."""
    link = TicketLink.objects.select_for_update().get(pk=link.pk)
    if link.removed_at:
        return
    if not link.integration.is_connected:  # PRODUCT.md §3: kept as a historical record
        raise TicketError(
            f"{link.issue_key} belongs to a disconnected integration; its link is kept as history."
        )
    link.removed_at = timezone.now()
    link.removed_by = by
    link.save(update_fields=["removed_at", "removed_by"])
    cancel_pending_events(link=link, reason="The link was removed.")
    record_history(
        link.anomaly,
        action="ticket_removed",
        actor=by,
        summary=f"Removed link to {ticket_words(link)}",
    )


# --- status refresh -----------------------------------------------------------------------


@dataclasses.dataclass
class RefreshResult:
    """What a refresh did: statuses read, tickets found gone, and why the remote could not
    answer."""

    refreshed: int = 0
    broken: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def refresh_ticket_statuses(link_ids: list[int] | None = None) -> int:
    """Refresh summary and status of current links, in batches (``read_statuses``: Jira
    reads 100 keys per search). Returns the count refreshed."""
    return refresh_links(link_ids).refreshed


def refresh_links(link_ids: list[int] | None = None) -> RefreshResult:
    """Like refresh_ticket_statuses, telling apart a refresh the remote refused (credentials,
    an outage: every status Unknown, with the reason) from tickets that are gone (broken)."""
    links = TicketLink.objects.current().filter(
        integration__state=IntegrationState.CONNECTED, broken_reason=""
    )
    if link_ids is not None:
        links = links.filter(pk__in=link_ids)
    by_integration: dict[int, list[TicketLink]] = {}
    for link in links:
        by_integration.setdefault(link.integration_id, []).append(link)
    # Each integration loaded once (not joined per link: its credentials decrypt per row).
    integrations = TicketingIntegration.objects.in_bulk(list(by_integration))
    result = RefreshResult()
    for integration_id, group in by_integration.items():
        for link in group:
            link.integration = integrations[integration_id]
        _refresh_group(integrations[integration_id], group, result)
    return result


def _refresh_group(
    integration: TicketingIntegration, links: list[TicketLink], result: RefreshResult
) -> None:
    now = timezone.now()
    try:
        with pooled_connector_for(integration) as connector:
            lookup = connector.read_statuses({link.issue_key for link in links})
    except (ConnectorError, CredentialsUnreadable) as error:  # the status becomes Unknown, with why
        reason = _refresh_failure(error)
        TicketLink.objects.filter(pk__in=[link.pk for link in links]).update(
            status_name="", status_category=StatusCategory.UNKNOWN, status_error=reason
        )
        result.errors.append(reason)
        return
    connector = integration.connector_class
    gone = (
        f"The {connector.ticket_noun} was deleted, or the {connector.name} account cannot see it."
    )
    changed, unchanged = [], []
    for link in links:
        before = shown_status(link)
        issue = lookup.found.get(connector.normalize_key(link.issue_key) or link.issue_key)
        if issue is None:
            link.mark_broken(gone, at=now)
            result.broken += 1
        else:
            apply_status(link, issue, now)
            result.refreshed += 1
        (unchanged if shown_status(link) == before else changed).append(link)
    save_refreshed(changed, unchanged, now)


def _refresh_failure(error: ConnectorError | CredentialsUnreadable) -> str:
    if isinstance(error, CredentialsUnreadable):
        return str(error)
    return f"{error.message} {error.hint}".strip()[:500]
