"""Ticket operations through the JSON API: an anomaly's ticket links, creating a remote
ticket, searching the remote, and the Create Ticket form's specification, for whichever
connector is connected.

The views reuse the page's own form building and services, so the API validates and refuses
exactly as the anomaly page does.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict

from anomalies.api import user_json
from anomalies.api_http import (
    ApiError,
    api_view,
    clean_json,
    invalid_form,
    read_json,
)
from anomalies.models import Anomaly, DatastorePermission, User
from anomalies.permissions import Action, AnomalyAccess, get_anomaly_access
from anomalies.validation import UNCLEAN_TEXT_MESSAGE, CleanInputForm, is_clean_text

from .. import services
from ..connectors import CreateFormSpec, FieldKind, FormField, RemoteTicket
from ..create_flow import (  # the page's own steps, so the API cannot drift from it
    bound_create_form,
    default_summary,
    describe_create_form,
    submit_create_form,
)
from ..errors import ConnectorError, CredentialsRejected, HostRefused
from ..models import (
    CredentialsUnreadable,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from .sync_events import link_sync_json

CUSTOM_FIELDS_KEY = "fields"

# --- what every ticket operation needs -----------------------------------------------------


def _integration_to_use() -> TicketingIntegration:
    integration = services.connected_integration()
    if integration is None:
        raise ApiError(HTTPStatus.CONFLICT, "No ticketing integration is connected.")
    if not integration.credentials_readable:
        raise ApiError(HTTPStatus.CONFLICT, str(CredentialsUnreadable()))
    return integration


def _ticket_failure(error: services.TicketError, *, field: str) -> ApiError:
    """The remote refusing the request is the client's to fix (400); the remote unreachable,
    failing, refusing our own credentials, or a host the host policy refuses is not (502).
    The service raises TicketError while handling the ConnectorError, so that error is its
    context."""
    cause = error.__context__
    if isinstance(cause, ConnectorError) and (
        not cause.permanent or isinstance(cause, CredentialsRejected | HostRefused)
    ):
        return ApiError(HTTPStatus.BAD_GATEWAY, error.message)
    return ApiError(HTTPStatus.BAD_REQUEST, error.message, fields={field: error.message})


def _remote_unreachable(error: ConnectorError) -> ApiError:
    return ApiError(HTTPStatus.BAD_GATEWAY, f"{error.message} {error.hint}".strip())


def _require_level_anywhere(user: User, action: Action) -> None:
    """Endpoints about no one anomaly need the action's level on at least one datastore."""
    if user.is_admin:
        return
    best = DatastorePermission.objects.filter(team__members=user).aggregate(best=Max("level"))
    if best["best"] is None or best["best"] < action.level:
        raise PermissionDenied(f"This needs {action.level.label} permission on a datastore.")


# --- ticket links ---------------------------------------------------------------------------


def ticket_link_json(link: TicketLink) -> dict[str, Any]:
    """A link as `TicketLink.objects.with_sync_state` annotates it: what the Linked Tickets
    section shows, and each pending or failed event (`sync.events`) with the id a retry
    takes."""
    return {
        "id": link.pk,
        "issue_key": link.issue_key,
        "issue_id": link.issue_id,
        "url": link.url,
        "summary": link.summary,
        "origin": link.origin,
        "status": _status_json(link),
        "broken_reason": link.broken_reason,
        "history_only": not link.integration.is_connected,
        "last_synced_at": link.last_synced_at,
        "linked_by": user_json(link.linked_by),
        "linked_at": link.linked_at,
        "sync": link_sync_json(link),
    }


def _status_json(link: TicketLink) -> dict[str, str]:
    if link.is_broken:  # the last status seen no longer says anything about the issue
        return {"name": "Broken", "category": "unknown", "error": link.broken_reason}
    return {
        "name": link.status_name or "Unknown",
        "category": link.status_category or "unknown",
        "error": link.status_error,
    }


def _links(anomaly: Anomaly):
    links = TicketLink.objects.current().filter(anomaly=anomaly).with_sync_state()
    return links.with_open_events().select_related("linked_by")


def links_json(access: AnomalyAccess) -> list[dict[str, Any]]:
    return [ticket_link_json(link) for link in _links(access.anomaly)]


class LinkIssueForm(CleanInputForm):
    issue = forms.CharField(max_length=500, help_text="A ticket key (DQ-12) or its browse URL.")


@api_view("GET", "POST")
def ticket_links(request: HttpRequest, anomaly_id: int):
    if request.method == "POST":
        return _link_issue(request, anomaly_id)
    access = get_anomaly_access(request.user, anomaly_id, Action.VIEW)
    return JsonResponse({"results": links_json(access)})


def _link_issue(request: HttpRequest, anomaly_id: int) -> JsonResponse:
    """Link an existing ticket; the remote is only read. Words to search for are refused."""
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    payload = read_json(request)
    text = clean_json(LinkIssueForm(payload), payload)["issue"]
    integration = _integration_to_use()
    try:
        with services.connector_for(integration) as connector:
            query = services.parse_link_query(text, connector)
        if query.key is None:
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "Give an issue key or its browse URL.",
                fields={"issue": "Not an issue key or URL; find issues with tickets/search."},
            )
        _refuse_duplicate(access.anomaly, integration, query.key)
        link = services.link_existing_issue(
            access.anomaly, query.key, integration=integration, by=request.user
        )
    except services.TicketError as error:
        raise _ticket_failure(error, field="issue") from None
    return JsonResponse(
        ticket_link_json(_links(access.anomaly).get(pk=link.pk)), status=HTTPStatus.CREATED
    )


def _refuse_duplicate(anomaly: Anomaly, integration: TicketingIntegration, key: str) -> None:
    # The service refuses it too, but only this check can tell the client it is a conflict.
    current = TicketLink.objects.current().filter(anomaly=anomaly, integration=integration)
    if current.filter(issue_key=key).exists():
        raise ApiError(HTTPStatus.CONFLICT, f"{key} is already linked to this anomaly.")


@api_view("DELETE")
def ticket_link(request: HttpRequest, anomaly_id: int, link_id: int):
    """Remove a link: immediate, the remote untouched, pending notes to it cancelled."""
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    link = (
        TicketLink.objects.current()
        .select_related("integration", "anomaly")
        .filter(pk=link_id, anomaly=access.anomaly)
        .first()
    )
    if link is None:
        raise Http404("This anomaly has no such ticket link.")
    try:
        services.remove_ticket_link(link, by=request.user)
    except services.TicketError as error:  # a disconnected integration's links are history
        raise ApiError(HTTPStatus.CONFLICT, error.message) from None
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


# --- creating a ticket ------------------------------------------------------------------


IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,100}")


@api_view("POST")
def create_ticket(request: HttpRequest, anomaly_id: int):
    """The form's fields by name, plus `fields` for the remote's required custom fields (by
    the remote's field ids), as the form specification describes them.

    An `Idempotency-Key` header makes retries safe: the same key returns the ticket created
    the first time (200) instead of a second one. A lost answer is looked up before
    answering: 201 with the ticket found, or 502 saying whether anything may have been
    created."""
    access = get_anomaly_access(request.user, anomaly_id, Action.CREATE_TICKET)
    key = _idempotency_key(request)
    payload = read_json(request)
    integration = _integration_to_use()
    values = _ticket_form_values(payload, access.anomaly)
    try:
        spec = describe_create_form(integration, values)
    except ConnectorError as error:
        raise _remote_unreachable(error) from None
    form = bound_create_form(integration, spec, _form_data(spec, values, payload))
    try:
        result = (
            submit_create_form(form, integration, access.anomaly, by=request.user, token=key)
            if form.is_valid()
            else None
        )
    except services.TicketError as error:  # the remote failed: never the client's to fix
        raise ApiError(
            HTTPStatus.BAD_GATEWAY, error.message, outcome_unknown=error.outcome_unknown
        ) from None
    if result is None:  # the form's or the remote's refusal, placed as on the page
        raise invalid_form(form, message="The ticket was not created.", rename=_api_names(spec))
    status = HTTPStatus.OK if result.how == "already_created" else HTTPStatus.CREATED
    body = {
        **ticket_link_json(_links(access.anomaly).get(pk=result.link.pk)),
        "creation": result.how,
    }
    return JsonResponse(body, status=status)


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "The Idempotency-Key header must be 1–100 letters, digits or . _ : -",
        )
    return f"api:{key}"


def _ticket_form_values(payload: dict[str, Any], anomaly: Anomaly) -> dict[str, Any]:
    """The JSON body's own fields, each a text (ids may be numbers) or a list of texts;
    a left-out summary is the one the page pre-fills."""
    errors = {}
    for key, value in payload.items():
        if key == CUSTOM_FIELDS_KEY:
            if not isinstance(value, dict):
                errors[key] = "Give an object of the remote's field ids and values."
        elif isinstance(value, list):
            if not _strings(value):
                errors[key] = "Give a list of texts, or one comma-separated text."
        elif isinstance(value, bool) or not isinstance(value, str | int):
            errors[key] = "Give a text."
    if errors:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=errors)
    values = {
        key: value if isinstance(value, list) else str(value)
        for key, value in payload.items()
        if key != CUSTOM_FIELDS_KEY
    }
    values.setdefault("summary", default_summary(anomaly))
    return values


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _form_data(spec: CreateFormSpec, values: dict[str, Any], payload: dict) -> QueryDict:
    """The values as the page's form would post them: the scope defaults to the one the
    specification chose (the integration's default), tags may come as a list, custom fields
    come from `fields` by the remote's ids. Anything the form does not have is refused."""
    by_name = {field.name: field for field in spec.fields if not field.remote_name}
    by_remote = {field.remote_name: field for field in spec.fields if field.remote_name}
    custom = payload.get(CUSTOM_FIELDS_KEY) or {}
    unknown = {key: "Unknown field." for key in values if key not in by_name}
    unknown |= {
        f"{CUSTOM_FIELDS_KEY}.{key}": "Not a field to fill in."
        for key in custom
        if key not in by_remote
    }
    if unknown:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=unknown)
    if spec.scope_field:
        values.setdefault(spec.scope_field, spec.scope)
    data = QueryDict(mutable=True)
    for name, value in values.items():
        _put(data, by_name[name], value)
    for remote_name, value in custom.items():
        _put(data, by_remote[remote_name], value)
    return data


def _put(data: QueryDict, field: FormField, value: Any) -> None:
    if isinstance(value, list) and field.kind == FieldKind.TAGS:
        value = ",".join(value)
    data.setlist(field.name, [str(v) for v in value] if isinstance(value, list) else [str(value)])


def _api_names(spec: CreateFormSpec):
    """The API's name for a form field: custom fields live under `fields.<remote id>`."""
    remote = {field.name: field.remote_name for field in spec.fields if field.remote_name}

    def rename(form_field: str) -> str:
        if form_field in remote:
            return f"{CUSTOM_FIELDS_KEY}.{remote[form_field]}"
        return form_field

    return rename


# --- searching and the form's specification --------------------------------------------------


@api_view("GET")
def search_tickets(request: HttpRequest):
    """Tickets by key or words, for linking: needs Author somewhere, as linking does."""
    _require_level_anywhere(request.user, Action.LINK_TICKET)
    integration = _integration_to_use()
    words = request.GET.get("query", "").strip()
    if not words:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Say what to search for.",
            fields={"query": "Give a ticket key or words from its summary."},
        )
    try:
        tickets = services.search_tickets(integration, words)
    except services.TicketError as error:
        raise _ticket_failure(error, field="query") from None
    with services.connector_for(integration) as connector:
        results = [_ticket_json(ticket, connector.browse_url(ticket.key)) for ticket in tickets]
    return JsonResponse({"results": results})


def _ticket_json(ticket: RemoteTicket, url: str) -> dict[str, Any]:
    status = ticket.status
    return {
        "id": ticket.id,
        "key": ticket.key,
        "summary": ticket.summary,
        "status": {
            "name": status.name if status else "",
            "category": str(status.category) if status else "unknown",
        },
        "url": url,
    }


@api_view("GET")
def form_specification(request: HttpRequest):
    """The Create Ticket form as JSON, described by the connected connector, with the
    choices the remote offers. A field that reloads the form (Jira: project, issue type,
    assignee_query) may be passed as a query parameter."""
    _require_level_anywhere(request.user, Action.CREATE_TICKET)
    integration = _integration_to_use()
    asked = {key: request.GET.get(key, "") for key in request.GET}
    unclean = {
        key: UNCLEAN_TEXT_MESSAGE for key, value in asked.items() if not is_clean_text(value)
    }
    if unclean:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=unclean)
    try:
        spec = describe_create_form(integration, asked)
    except ConnectorError as error:
        raise _remote_unreachable(error) from None
    _refuse_fallback(asked, spec, integration.connector_class.name)
    form = bound_create_form(integration, spec, None)
    return JsonResponse(
        {
            **({spec.scope_field: spec.scope} if spec.scope_field else {}),
            **{
                field.name: field.initial
                for field in spec.fields
                if field.refreshes_form and field.kind == FieldKind.CHOICE
            },
            "fields": [
                _field_json(field, form.fields[field.name], spec, integration)
                for field in spec.fields
                if field.kind != FieldKind.SEARCH
            ],
            "unsupported_required_fields": list(spec.unsupported),
        }
    )


def _refuse_fallback(asked: dict[str, str], spec: CreateFormSpec, name: str) -> None:
    # The page quietly falls back to the default scope or the first type; a client that
    # asked for one should hear that the remote does not offer it.
    wrong = {
        field.name: f"{name} does not offer this here."
        for field in spec.fields
        if field.refreshes_form
        and field.kind == FieldKind.CHOICE
        and asked.get(field.name, "") not in ("", field.initial)
    }
    if wrong:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=wrong)


API_TYPES = {
    FieldKind.TEXT: "string",
    FieldKind.TEXTAREA: "text",
    FieldKind.CHOICE: "choice",
    FieldKind.MULTI_CHOICE: "multi_choice",
    FieldKind.NUMBER: "number",
    FieldKind.DATE: "date",
    FieldKind.TAGS: "labels",
}
SUMMARY_HELP = "Left out, it is “Anomaly #<id>: <description>”, as the page pre-fills it."


def _field_json(
    described: FormField,
    field: forms.Field,
    spec: CreateFormSpec,
    integration: TicketingIntegration,
) -> dict[str, Any]:
    kind = API_TYPES[described.kind]
    if described.remote_type and not described.remote_name:
        kind = described.remote_type  # e.g. Jira's "account_id" for the assignee
    spec_json: dict[str, Any] = {
        "name": _api_names(spec)(described.name),
        "label": described.label,
        "type": kind,
        "required": field.required,
        "default": described.initial if described.initial not in ("", None) else None,
        "help_text": _help(described, integration),
    }
    if isinstance(field, forms.ChoiceField):
        spec_json["choices"] = [
            {"value": v, "label": str(label)} for v, label in field.choices if v
        ]
    if described.max_length:
        spec_json["max_length"] = described.max_length
    return spec_json


def _help(described: FormField, integration: TicketingIntegration) -> str:
    if described.name == "summary":
        return SUMMARY_HELP
    if described.kind == FieldKind.TAGS:
        what, name = described.label.lower(), integration.connector_class.name
        return (
            f"A list of {what}, or one comma-separated text; {name} {what} cannot contain spaces."
        )
    return described.help_text


@api_view("POST")
def retry_sync_event(request: HttpRequest, event_id: int):
    """Send a failed comment again (the Retry button): Author on the anomaly's datastore."""
    event = SyncEvent.objects.select_related("link__integration").filter(pk=event_id).first()
    if event is None:
        raise Http404("No such sync event.")
    get_anomaly_access(request.user, event.link.anomaly_id, Action.LINK_TICKET)
    if event.link.is_broken:
        raise ApiError(HTTPStatus.CONFLICT, event.link.broken_reference_refusal)
    if event.state != SyncState.FAILED:
        raise ApiError(
            HTTPStatus.CONFLICT, f"Only a failed event can be retried; this one is {event.state}."
        )
    services.retry_sync_event(event)
    event.refresh_from_db()
    return JsonResponse({"id": event.pk, "state": event.state, "issue": event.link.issue_key})
