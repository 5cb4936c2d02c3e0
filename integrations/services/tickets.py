"""Ticket operations on an anomaly: create a Jira issue, link one, remove a link, refresh."""

from __future__ import annotations

import dataclasses
import logging
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from anomalies.models import Anomaly, User
from anomalies.services import record_history
from anomalies.validation import UNCLEAN_TEXT_MESSAGE, is_clean_text

from .. import outbound
from ..broker import publish
from ..jira import IssueSummary, JiraClient, JiraError, JiraNotFound
from ..models import (
    CredentialsUnreadable,
    IntegrationState,
    StatusCategory,
    TicketingIntegration,
    TicketLink,
)
from .clients import client_for
from .sync import cancel_pending_events

logger = logging.getLogger(__name__)

ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")
MAX_SEARCH_RESULTS = 20


class TicketError(Exception):
    """A ticket operation that did not happen; the message is for the user."""

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


@dataclasses.dataclass(frozen=True)
class NewIssue:
    """What the Create Ticket form collected; choices came from Jira's create metadata."""

    project_key: str
    issue_type_id: str
    summary: str
    description: str = ""
    priority_id: str = ""
    labels: tuple[str, ...] = ()
    assignee_account_id: str = ""
    extra_fields: dict = dataclasses.field(default_factory=dict)

    def jira_fields(self, anomaly: Anomaly, *, linked_at) -> dict:
        fields = {
            "project": {"key": self.project_key},
            "issuetype": {"id": self.issue_type_id},
            "summary": self.summary,
            "description": outbound.issue_description(
                anomaly,
                user_description=self.description,
                linked_at=linked_at,
                site_url=settings.SITE_URL,
            ),
            **self.extra_fields,
        }
        if self.priority_id:
            fields["priority"] = {"id": self.priority_id}
        if self.labels:
            fields["labels"] = list(self.labels)
        if self.assignee_account_id:
            fields["assignee"] = {"accountId": self.assignee_account_id}
        return fields


def create_ticket(
    anomaly: Anomaly, issue: NewIssue, *, integration: TicketingIntegration, by: User
) -> TicketLink:
    """Create the Jira issue (synchronously), then store the link. Raises TicketError."""
    linked_at = timezone.now()
    with client_for(integration) as client:
        try:
            created = client.create_issue(issue.jira_fields(anomaly, linked_at=linked_at))
        except JiraError as error:
            raise _ticket_error(error) from None
        details = _fetch_quietly(client, created["key"])
        url = client.browse_url(created["key"])
    link = _store_link(
        anomaly,
        integration=integration,
        by=by,
        origin=TicketLink.Origin.CREATED,
        issue_id=created["id"],
        issue_key=created["key"],
        url=url,
        summary=details.summary if details else issue.summary,
        details=details,
    )
    return link


def _ticket_error(error: JiraError) -> TicketError:
    field_errors = dict(getattr(error, "field_errors", {}) or {})
    message = error.message if not field_errors else "Jira did not accept some of the fields."
    hint = f" {error.hint}" if error.hint and not field_errors else ""
    return TicketError(f"{message}{hint}", field_errors=field_errors)


def _fetch_quietly(client: JiraClient, key: str) -> IssueSummary | None:
    """The new issue's status; if Jira is slow to answer, the refresh task fills it in."""
    try:
        return client.get_issue(key)
    except JiraError as error:
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
    details: IssueSummary | None,
) -> TicketLink:
    now = timezone.now()
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
                summary=f"{verb} Jira issue {issue_key}",
            )
    except IntegrityError:
        raise TicketError(f"{issue_key} is already linked to this anomaly.") from None
    _refresh_soon(link)
    return link


def apply_status(link: TicketLink, issue: IssueSummary, now) -> None:
    link.show_status(
        summary=issue.summary,
        name=issue.status_name,
        category_key=issue.status_category_key,
        at=now,
    )


def _refresh_soon(link: TicketLink) -> None:
    from ..tasks import refresh_ticket_statuses

    # If the broker is down, the periodic refresh catches up.
    transaction.on_commit(lambda: publish(refresh_ticket_statuses, link_ids=[link.pk]))


# --- linking existing issues ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LinkQuery:
    """What the one "link existing" box holds: a key, a browse URL, or words to search."""

    key: str | None
    words: str


def parse_link_query(text: str, client: JiraClient) -> LinkQuery:
    text = text.strip()
    _refuse_unclean(text)
    if ISSUE_KEY.fullmatch(text):
        return LinkQuery(key=text.upper(), words="")
    if text.lower().startswith(("http://", "https://")):
        key = client.issue_key_from_browse_url(text)
        if key is None:
            raise TicketError(
                f"That URL is not an issue of the connected Jira site ({client.host_url})."
            )
        return LinkQuery(key=key, words="")
    return LinkQuery(key=None, words=text)


def search_issues(integration: TicketingIntegration, words: str) -> list[IssueSummary]:
    _refuse_unclean(words)
    with client_for(integration) as client:
        try:
            return client.search_issues_by_text(words, limit=MAX_SEARCH_RESULTS)
        except JiraError as error:
            raise TicketError(f"{error.message} {error.hint}") from None


def _refuse_unclean(text: str) -> None:
    """Text Jira could not be sent (docs: README "Input rules") never leaves the app."""
    if not is_clean_text(text):
        raise TicketError(UNCLEAN_TEXT_MESSAGE)


def link_existing_issue(
    anomaly: Anomaly, issue_key: str, *, integration: TicketingIntegration, by: User
) -> TicketLink:
    """Link an issue that exists and is visible. Jira itself is not modified."""
    issue_key = issue_key.strip().upper()
    if (
        TicketLink.objects.current()
        .filter(anomaly=anomaly, integration=integration, issue_key=issue_key)
        .exists()
    ):
        raise TicketError(f"{issue_key} is already linked to this anomaly.")
    with client_for(integration) as client:
        try:
            issue = client.get_issue(issue_key)
        except JiraNotFound:
            raise TicketError(
                f"{issue_key} was not found in Jira, or the Jira account cannot see it. "
                "Check the key, and that the account has access to its project."
            ) from None
        except JiraError as error:
            raise TicketError(f"{error.message} {error.hint}") from None
        url = client.browse_url(issue.key)
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
    """Immediate; Jira is untouched; pending comments for this issue are cancelled."""
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
        summary=f"Removed link to Jira issue {link.issue_key}",
    )


# --- status refresh -----------------------------------------------------------------------


def refresh_ticket_statuses(link_ids: list[int] | None = None) -> int:
    """Refresh summary and status of current links, 100 keys per JQL call. Returns count."""
    links = (
        TicketLink.objects.current()
        .filter(integration__state=IntegrationState.CONNECTED, broken_reason="")
        .select_related("integration")
    )
    if link_ids is not None:
        links = links.filter(pk__in=link_ids)
    by_integration: dict[int, list[TicketLink]] = {}
    for link in links:
        by_integration.setdefault(link.integration_id, []).append(link)
    refreshed = 0
    for group in by_integration.values():
        refreshed += _refresh_group(group[0].integration, group)
    return refreshed


def _refresh_group(integration: TicketingIntegration, links: list[TicketLink]) -> int:
    now = timezone.now()
    try:
        with client_for(integration) as client:
            lookup = client.search_issues_by_keys({link.issue_key for link in links})
    except (JiraError, CredentialsUnreadable) as error:  # the status becomes Unknown, with why
        reason = getattr(error, "message", str(error))[:500]
        TicketLink.objects.filter(pk__in=[link.pk for link in links]).update(
            status_name="", status_category=StatusCategory.UNKNOWN, status_error=reason
        )
        return 0
    for link in links:
        issue = lookup.found.get(link.issue_key.upper())
        if issue is None:
            link.mark_broken("The issue was deleted, or the Jira account cannot see it.", at=now)
        else:
            apply_status(link, issue, now)
    TicketLink.objects.bulk_update(links, TicketLink.STATUS_FIELDS)
    return len(links)
