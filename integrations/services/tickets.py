"""Ticket operations on an anomaly: create a Jira issue, link one, remove a link, refresh."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from anomalies.models import Anomaly, User
from anomalies.services import record_history
from anomalies.validation import UNCLEAN_TEXT_MESSAGE, is_clean_text

from .. import outbound
from ..broker import publish
from ..jira import IssueSummary, JiraClient, JiraCredentialsRejected, JiraError, JiraNotFound
from ..models import (
    CredentialsUnreadable,
    IntegrationState,
    StatusCategory,
    TicketingIntegration,
    TicketLink,
)
from .clients import client_for, pooled_client_for
from .creating import (
    CreateOutcomeUnknown,
    CreateResult,
    FormReused,
    NothingCreated,
    create_once,
)
from .reconnect import reattach_history_link
from .refresh_writes import save_refreshed, shown_status
from .sync import cancel_pending_events

logger = logging.getLogger(__name__)

ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")
MAX_SEARCH_RESULTS = 20


class TicketError(Exception):
    """A ticket operation that did not happen; the message is for the user."""

    def __init__(
        self,
        message: str,
        *,
        field_errors: dict[str, str] | None = None,
        jira_outage: bool = False,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        # Jira unreachable, failing or refusing our credentials: not the user's input to fix.
        self.jira_outage = jira_outage
        # A create that Jira may have done: say so, never "nothing was created".
        self.outcome_unknown = outcome_unknown


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
    anomaly: Anomaly,
    issue: NewIssue,
    *,
    integration: TicketingIntegration,
    by: User,
    token: str | None = None,
) -> TicketLink:
    """Create the Jira issue (synchronously), then store the link. Raises TicketError."""
    return create_ticket_once(anomaly, issue, integration=integration, by=by, token=token).link


def create_ticket_once(
    anomaly: Anomaly,
    issue: NewIssue,
    *,
    integration: TicketingIntegration,
    by: User,
    token: str | None = None,
) -> CreateResult:
    """Create the issue once per ``token`` (the submitted form's): a repeat of the same form
    returns the issue created the first time, and a lost answer is looked up by marker
    (services/creating.py). Without a token, the request is its own form. Raises TicketError."""
    linked_at = timezone.now()

    def store(client: JiraClient, found: IssueSummary, fresh: bool) -> TicketLink:
        details = _fetch_quietly(client, found.key) if fresh else found
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
            url=client.browse_url(found.key),
            summary=details.summary if details and details.summary else issue.summary,
            details=details,
        )

    try:
        return create_once(
            anomaly,
            issue.jira_fields(anomaly, linked_at=linked_at),
            token=token or f"request:{uuid.uuid4()}",
            integration=integration,
            by=by,
            store_link=store,
        )
    except JiraError as error:
        raise _ticket_error(error) from None
    except NothingCreated as lost:
        raise TicketError(
            f"{lost.error.message} Jira's answer was lost, so Qualytics asked Jira: it has no "
            "issue from this form. Nothing was created; you can submit again.",
            jira_outage=True,
        ) from None
    except CreateOutcomeUnknown as unknown:
        raise TicketError(
            f"{unknown.reason} Whether Jira created the issue is not known yet: Jira could "
            "not be asked. Submitting the same form again is safe: Qualytics first looks for "
            "the issue and links it instead of creating a second one.",
            jira_outage=True,
            outcome_unknown=True,
        ) from None
    except FormReused:
        raise TicketError(
            "This form was already used for another anomaly. Open Create Jira ticket again."
        ) from None


def existing_current_link(anomaly: Anomaly, integration, issue_id: str) -> TicketLink | None:
    return (
        TicketLink.objects.current()
        .filter(anomaly=anomaly, integration=integration, issue_id=issue_id)
        .first()
    )


def _ticket_error(error: JiraError) -> TicketError:
    field_errors = dict(getattr(error, "field_errors", {}) or {})
    message = error.message if not field_errors else "Jira did not accept some of the fields."
    hint = f" {error.hint}" if error.hint and not field_errors else ""
    outage = not error.permanent or isinstance(error, JiraCredentialsRejected)
    return TicketError(f"{message}{hint}", field_errors=field_errors, jira_outage=outage)


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
                summary=f"{verb} Jira issue {issue_key}",
            )
    except IntegrityError:
        raise TicketError(f"{issue_key} is already linked to this anomaly.") from None
    _refresh_soon(link)
    return link


def _refreshed(link: TicketLink, details: IssueSummary | None, now) -> TicketLink:
    if details:
        apply_status(link, details, now)
        link.save(update_fields=list(TicketLink.STATUS_FIELDS))
    else:
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


@dataclasses.dataclass
class RefreshResult:
    """What a refresh did: statuses read, issues found gone, and why Jira could not answer."""

    refreshed: int = 0
    broken: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


def refresh_ticket_statuses(link_ids: list[int] | None = None) -> int:
    """Refresh summary and status of current links, 100 keys per JQL call. Returns count."""
    return refresh_links(link_ids).refreshed


def refresh_links(link_ids: list[int] | None = None) -> RefreshResult:
    """Like refresh_ticket_statuses, telling apart a refresh Jira refused (credentials, an
    outage: every status Unknown, with the reason) from issues that are gone (broken)."""
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
        with pooled_client_for(integration) as client:
            lookup = client.search_issues_by_keys({link.issue_key for link in links})
    except (JiraError, CredentialsUnreadable) as error:  # the status becomes Unknown, with why
        reason = _refresh_failure(error)
        TicketLink.objects.filter(pk__in=[link.pk for link in links]).update(
            status_name="", status_category=StatusCategory.UNKNOWN, status_error=reason
        )
        result.errors.append(reason)
        return
    changed, unchanged = [], []
    for link in links:
        before = shown_status(link)
        issue = lookup.found.get(link.issue_key.upper())
        if issue is None:
            link.mark_broken("The issue was deleted, or the Jira account cannot see it.", at=now)
            result.broken += 1
        else:
            apply_status(link, issue, now)
            result.refreshed += 1
        (unchanged if shown_status(link) == before else changed).append(link)
    save_refreshed(changed, unchanged, now)


def _refresh_failure(error: JiraError | CredentialsUnreadable) -> str:
    if isinstance(error, CredentialsUnreadable):
        return str(error)
    return f"{error.message} {error.hint}".strip()[:500]
