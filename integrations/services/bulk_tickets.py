"""Ticket actions over many anomalies (the list's bulk bar and the API): link all of them to
one existing Jira issue, or create one issue for all of them. Jira is asked once; each
anomaly's link is stored in its own transaction with its own history entry."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import timezone

from anomalies.bulk import BulkResult
from anomalies.models import Anomaly, User

from .. import outbound
from ..jira import IssueSummary, JiraClient, JiraError, JiraNotFound
from ..models import TicketingIntegration, TicketLink
from .clients import client_for
from .creating import CreateOutcomeUnknown, NothingCreated, create_once
from .tickets import NewIssue, TicketError, _store_link, existing_current_link


def _skip_all(anomalies: list[Anomaly], result: BulkResult, reason: str) -> None:
    for anomaly in anomalies:
        result.skipped[anomaly.pk] = reason


def _link_each(
    anomalies: list[Anomaly],
    result: BulkResult,
    *,
    integration: TicketingIntegration,
    issue: IssueSummary,
    url: str,
    origin: str,
    by: User,
) -> list[TicketLink]:
    links = []
    for anomaly in anomalies:
        if existing_current_link(anomaly, integration, issue.id) is not None:
            result.skipped[anomaly.pk] = f"already linked to {issue.key}"
            continue
        try:
            link = _store_link(
                anomaly,
                integration=integration,
                by=by,
                origin=origin,
                issue_id=issue.id,
                issue_key=issue.key,
                url=url,
                summary=issue.summary,
                details=issue if issue.status_name else None,
            )
        except TicketError as refused:
            result.skipped[anomaly.pk] = str(refused)
            continue
        links.append(link)
        result.done.append(anomaly.pk)
    return links


def link_anomalies_to_issue(
    anomalies: list[Anomaly],
    result: BulkResult,
    *,
    by: User,
    issue_key: str,
    integration: TicketingIntegration | None,
) -> None:
    """Link every anomaly to one existing issue, looked up once."""
    if integration is None:
        return _skip_all(anomalies, result, "Jira is not connected")
    if not anomalies:
        return None
    with client_for(integration) as client:
        try:
            issue = client.get_issue(issue_key.strip().upper())
        except JiraNotFound:
            return _skip_all(anomalies, result, f"{issue_key} was not found in Jira")
        except JiraError as error:
            return _skip_all(anomalies, result, error.message)
        url = client.browse_url(issue.key)
    _link_each(
        anomalies,
        result,
        integration=integration,
        issue=issue,
        url=url,
        origin=TicketLink.Origin.LINKED,
        by=by,
    )
    result.notes.append(f"linked to {issue.key}")
    return None


def create_issue_for_anomalies(
    anomalies: list[Anomaly],
    result: BulkResult,
    *,
    by: User,
    summary: str,
    description: str = "",
    integration: TicketingIntegration | None,
    token: str = "",
) -> None:
    """Create one issue whose context block lists every anomaly, then link each to it. Exactly
    once per `token`, like a single create (services/creating.py)."""
    if integration is None:
        return _skip_all(anomalies, result, "Jira is not connected")
    if not anomalies:
        return None
    linked_at = timezone.now()

    def store(client: JiraClient, found: IssueSummary, fresh: bool) -> TicketLink:
        issue = client.get_issue(found.key) if fresh else found
        links = _link_each(
            anomalies,
            result,
            integration=integration,
            issue=issue,
            url=client.browse_url(found.key),
            origin=TicketLink.Origin.CREATED,
            by=by,
        )
        result.notes.append(f"created {found.key}")
        return links[0] if links else existing_current_link(anomalies[0], integration, found.id)

    try:
        with client_for(integration) as client:
            fields = _fields(client, anomalies, integration, summary, description, linked_at)
        create_once(
            anomalies[0],
            fields,
            token=token or f"bulk:{uuid.uuid4()}",
            integration=integration,
            by=by,
            store_link=store,
        )
    except JiraError as error:
        _skip_all(_not_done(anomalies, result), result, error.message)
    except TicketError as refused:
        _skip_all(anomalies, result, str(refused))
    except NothingCreated as lost:
        _skip_all(anomalies, result, f"{lost.error.message} Nothing was created.")
    except CreateOutcomeUnknown as unknown:
        _skip_all(anomalies, result, f"{unknown.reason} Whether Jira created it is not known.")
    return None


def _not_done(anomalies: list[Anomaly], result: BulkResult) -> list[Anomaly]:
    return [anomaly for anomaly in anomalies if anomaly.pk not in result.done]


def _fields(client, anomalies, integration, summary: str, description: str, linked_at) -> dict:
    project_key = integration.default_project_key
    issue = NewIssue(
        project_key=project_key,
        issue_type_id=_default_issue_type(client, project_key),
        summary=summary,
    )
    fields = issue.jira_fields(anomalies[0], linked_at=linked_at)
    fields["description"] = outbound.issue_description_for_many(
        anomalies, user_description=description, linked_at=linked_at, site_url=settings.SITE_URL
    )
    return fields


def _default_issue_type(client: JiraClient, project_key: str) -> str:
    """A bulk create has no create form: a Task, or else the project's first standard type."""
    types = [kind for kind in client.get_issue_types(project_key) if not kind.subtask]
    if not types:
        raise TicketError(f"Project {project_key} has no issue type to create.")
    task = next((kind for kind in types if kind.name.lower() == "task"), types[0])
    return task.id
