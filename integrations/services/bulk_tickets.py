"""Ticket actions over many anomalies (the list's bulk bar and the API): link all of them to
one existing remote ticket, or create one ticket for all of them. The remote is asked once;
each anomaly's link is stored in its own transaction with its own history entry."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import timezone

from anomalies.bulk import BulkResult
from anomalies.models import Anomaly, User

from .. import outbound
from ..connectors import (
    Connector,
    CreateFormSpec,
    FieldKind,
    FormField,
    RemoteTicket,
    TicketDraft,
)
from ..errors import ConnectorError, NotFound
from ..models import TicketingIntegration, TicketLink
from .clients import connector_for
from .creating import CreateOutcomeUnknown, NothingCreated, create_once
from .tickets import TicketError, _store_link, existing_current_link


def _skip_all(anomalies: list[Anomaly], result: BulkResult, reason: str) -> None:
    for anomaly in anomalies:
        result.skipped[anomaly.pk] = reason


def _link_each(
    anomalies: list[Anomaly],
    result: BulkResult,
    *,
    integration: TicketingIntegration,
    issue: RemoteTicket,
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
                details=issue if issue.status else None,
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
        return _skip_all(anomalies, result, "No ticketing integration is connected")
    if not anomalies:
        return None
    connector_class = integration.connector_class
    with connector_for(integration) as connector:
        try:
            issue = connector.get_ticket(connector_class.normalize_key(issue_key))
        except NotFound:
            return _skip_all(anomalies, result, f"{issue_key} was not found in {connector.name}")
        except ConnectorError as error:
            return _skip_all(anomalies, result, error.message)
        url = connector.browse_url(issue.key)
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
    chosen: dict[str, str] | None = None,
) -> None:
    """Create one issue whose context block lists every anomaly, then link each to it. Exactly
    once per `token`, like a single create (services/creating.py). `chosen`: the create
    form's choices made in the bulk bar (Jira: project, issue type, priority)."""
    if integration is None:
        return _skip_all(anomalies, result, "No ticketing integration is connected")
    if not anomalies:
        return None
    linked_at = timezone.now()

    def store(connector: Connector, found: RemoteTicket, fresh: bool) -> TicketLink:
        issue = connector.get_ticket(found.key) if fresh else found
        links = _link_each(
            anomalies,
            result,
            integration=integration,
            issue=issue,
            url=connector.browse_url(found.key),
            origin=TicketLink.Origin.CREATED,
            by=by,
        )
        result.notes.append(f"created {found.key}")
        return links[0] if links else existing_current_link(anomalies[0], integration, found.id)

    try:
        with connector_for(integration) as connector:
            draft = _draft(
                connector,
                anomalies,
                integration,
                summary,
                description,
                linked_at,
                chosen=chosen or {},
            )
        create_once(
            anomalies[0],
            draft,
            token=token or f"bulk:{uuid.uuid4()}",
            integration=integration,
            by=by,
            store_link=store,
        )
    except ConnectorError as error:
        _skip_all(_not_done(anomalies, result), result, error.message)
    except TicketError as refused:
        _skip_all(anomalies, result, str(refused))
    except NothingCreated as lost:
        _skip_all(anomalies, result, f"{lost.error.message} Nothing was created.")
    except CreateOutcomeUnknown as unknown:
        _skip_all(anomalies, result, f"{unknown.reason} Whether it was created is not known.")
    return None


def _not_done(anomalies: list[Anomaly], result: BulkResult) -> list[Anomaly]:
    return [anomaly for anomaly in anomalies if anomaly.pk not in result.done]


def _draft(
    connector: Connector,
    anomalies: list[Anomaly],
    integration: TicketingIntegration,
    summary: str,
    description: str,
    linked_at,
    *,
    chosen: dict[str, str],
) -> TicketDraft:
    """The connector's create form for what the bulk bar chose (each choice that shapes the
    form, else its default: a "Task" where offered), the bar's other choices checked against
    the form's, then every other required field filled from its default, or refused."""
    scope = integration.default_project_key
    spec = connector.describe_create_form(scope, {})
    shaping = {
        field.name: chosen.get(field.name) or _default_choice(field)
        for field in spec.fields
        if field.refreshes_form and field.kind != FieldKind.SEARCH
    }
    spec = connector.describe_create_form(scope, {k: v for k, v in shaping.items() if v})
    values = {"summary": summary, **_required_defaults(spec), **_checked_choices(spec, chosen)}
    text = outbound.issue_description_for_many(
        anomalies, user_description=description, linked_at=linked_at, site_url=settings.SITE_URL
    )
    return TicketDraft(spec.scope or scope, summary, text, values, spec)


def bulk_choice_fields(spec: CreateFormSpec) -> list[FormField]:
    """The create form's fields the bulk bar offers: its standard choices (Jira: project,
    issue type, priority), but not the ones a search fills (an assignee): those belong to
    one anomaly's form."""
    fields, after_search = [], False
    for described in spec.fields:
        offered = described.kind == FieldKind.CHOICE and described.choices
        if offered and not described.remote_name and not after_search:
            fields.append(described)
        after_search = described.kind == FieldKind.SEARCH
    return fields


def _checked_choices(spec: CreateFormSpec, chosen: dict[str, str]) -> dict[str, str]:
    """The bar's choices the form offers; one it no longer offers (the remote changed, or the
    request was made by hand) refuses the whole create."""
    values = {}
    for field in bulk_choice_fields(spec):
        value = chosen.get(field.name, "")
        if not value:
            continue
        if value not in {str(offered) for offered, _ in field.choices}:
            raise TicketError(f"“{value}” is not a {field.label.lower()} the form offers")
        values[field.name] = value
    return values


def _default_choice(field) -> str:
    if field.initial not in (None, ""):
        return str(field.initial)
    task = next((value for value, label in field.choices if label.lower() == "task"), None)
    return task or (field.choices[0][0] if field.choices else "")


def _required_defaults(spec: CreateFormSpec) -> dict:
    values = {}
    for field in spec.fields:
        if field.name in ("summary", "description") or not (field.required or field.refreshes_form):
            continue
        value = _default_choice(field)
        if field.required and not value:
            raise TicketError(
                f"The create form needs “{field.label}”: create the ticket from one anomaly's page."
            )
        if value:
            values[field.name] = value
    return values
