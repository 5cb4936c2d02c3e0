"""Ticket operations through the JSON API: an anomaly's ticket links, creating a Jira issue,
searching Jira, and the Create Ticket form's specification.

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
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

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

# The page's own steps, so the API cannot drift from it.
from ..create_flow import (
    build_create_form,
    default_summary,
    load_create_metadata,
    submit_create_form,
)
from ..jira import IssueSummary, JiraCredentialsRejected, JiraError, JiraHostNotAllowed
from ..models import (
    CredentialsUnreadable,
    SyncEvent,
    SyncState,
    TicketingIntegration,
    TicketLink,
)
from ..sections import links_with_sync_state
from ..ticket_forms import CUSTOM_PREFIX, CreateTicketForm
from ..views.tickets import broken_reference_refusal
from .sync_events import link_sync_json, with_open_events

STANDARD_TICKET_KEYS = ("project", "issue_type", "summary", "description", "priority", "assignee")
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
    """Jira refusing the request is the client's to fix (400); Jira unreachable, failing,
    refusing our own credentials, or a host the host policy refuses is not (502). The service
    raises TicketError while handling the JiraError, so that error is its context."""
    cause = error.__context__
    if isinstance(cause, JiraError) and (
        not cause.permanent or isinstance(cause, JiraCredentialsRejected | JiraHostNotAllowed)
    ):
        return ApiError(HTTPStatus.BAD_GATEWAY, error.message)
    return ApiError(HTTPStatus.BAD_REQUEST, error.message, fields={field: error.message})


def _jira_unreachable(error: JiraError) -> ApiError:
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
    """A link as `links_with_sync_state` annotates it: what the Linked Tickets section shows,
    and each pending or failed event (`sync.events`) with the id a retry takes."""
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
    return with_open_events(links_with_sync_state(anomaly.pk).select_related("linked_by"))


def links_json(access: AnomalyAccess) -> list[dict[str, Any]]:
    return [ticket_link_json(link) for link in _links(access.anomaly)]


class LinkIssueForm(CleanInputForm):
    issue = forms.CharField(max_length=500, help_text="An issue key (DQ-12) or its browse URL.")


@api_view("GET", "POST")
def ticket_links(request: HttpRequest, anomaly_id: int):
    if request.method == "POST":
        return _link_issue(request, anomaly_id)
    access = get_anomaly_access(request.user, anomaly_id, Action.VIEW)
    return JsonResponse({"results": links_json(access)})


def _link_issue(request: HttpRequest, anomaly_id: int) -> JsonResponse:
    """Link an existing issue; Jira is only read. Words to search for are refused here."""
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    payload = read_json(request)
    text = clean_json(LinkIssueForm(payload), payload)["issue"]
    integration = _integration_to_use()
    try:
        with services.client_for(integration) as client:
            query = services.parse_link_query(text, client)
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
    """Remove a link: immediate, Jira untouched, pending comments to that issue cancelled."""
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
    """The page's seven fields, plus `fields` for the issue type's required custom fields.

    An `Idempotency-Key` header makes retries safe: the same key returns the issue created the
    first time (200) instead of a second one. A lost Jira answer is looked up before answering:
    201 with the issue found, or 502 saying whether anything may have been created."""
    access = get_anomaly_access(request.user, anomaly_id, Action.CREATE_TICKET)
    key = _idempotency_key(request)
    payload = read_json(request)
    integration = _integration_to_use()
    values = _ticket_form_values(payload, access.anomaly, integration)
    try:
        form = build_create_form(integration, access.anomaly, values, False)
    except JiraError as error:
        raise _jira_unreachable(error) from None
    _refuse_unknown_custom_fields(form, payload.get(CUSTOM_FIELDS_KEY) or {})
    try:
        result = (
            submit_create_form(form, integration, access.anomaly, by=request.user, token=key)
            if form.is_valid()
            else None
        )
    except services.TicketError as error:  # Jira failed: never the client's input to fix
        raise ApiError(
            HTTPStatus.BAD_GATEWAY, error.message, outcome_unknown=error.outcome_unknown
        ) from None
    if result is None:  # the form's or Jira's refusal, placed on the fields as on the page
        raise invalid_form(form, message="The ticket was not created.", rename=_api_field_name)
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


def _ticket_form_values(
    payload: dict[str, Any], anomaly: Anomaly, integration: TicketingIntegration
) -> dict[str, Any]:
    """The JSON body as the Create Ticket form's data; the defaults are the page's."""
    allowed = {*STANDARD_TICKET_KEYS, "labels", CUSTOM_FIELDS_KEY}
    errors = {key: "Unknown field." for key in payload if key not in allowed}
    for key in STANDARD_TICKET_KEYS:
        value = payload.get(key, "")
        if isinstance(value, bool) or not isinstance(value, str | int):  # ids may be numbers
            errors[key] = "Give a text."
    labels = payload.get("labels", [])
    if not isinstance(labels, str) and not _strings(labels):
        errors["labels"] = "Give a list of labels, or one comma-separated text."
    custom = payload.get(CUSTOM_FIELDS_KEY, {})
    if not isinstance(custom, dict):
        errors[CUSTOM_FIELDS_KEY] = "Give an object of Jira field ids and values."
    if errors:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=errors)
    values = {key: str(payload.get(key, "")) for key in STANDARD_TICKET_KEYS}
    values["project"] = values["project"] or integration.default_project_key
    values["summary"] = str(payload.get("summary", default_summary(anomaly)))
    values["labels"] = labels if isinstance(labels, str) else ",".join(labels)
    values.update({CUSTOM_PREFIX + key: value for key, value in custom.items()})
    return values


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _refuse_unknown_custom_fields(form: CreateTicketForm, custom: dict[str, Any]) -> None:
    unknown = [key for key in custom if CUSTOM_PREFIX + key not in form.fields]
    if unknown:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Only the issue type's required custom fields can be set.",
            fields={f"{CUSTOM_FIELDS_KEY}.{key}": "Not a field to fill in." for key in unknown},
        )


def _api_field_name(form_field: str) -> str:
    if form_field.startswith(CUSTOM_PREFIX):
        return f"{CUSTOM_FIELDS_KEY}.{form_field.removeprefix(CUSTOM_PREFIX)}"
    return form_field


# --- searching Jira and the form's specification ---------------------------------------------


@api_view("GET")
def search_tickets(request: HttpRequest):
    """Issues by key or words, for linking: needs Author somewhere, as linking does."""
    _require_level_anywhere(request.user, Action.LINK_TICKET)
    integration = _integration_to_use()
    words = request.GET.get("query", "").strip()
    if not words:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Say what to search for.",
            fields={"query": "Give an issue key or words from its summary."},
        )
    try:
        issues = services.search_issues(integration, words)
    except services.TicketError as error:
        raise _ticket_failure(error, field="query") from None
    with services.client_for(integration) as client:
        results = [_issue_json(issue, client.browse_url(issue.key)) for issue in issues]
    return JsonResponse({"results": results})


def _issue_json(issue: IssueSummary, url: str) -> dict[str, Any]:
    return {
        "id": issue.id,
        "key": issue.key,
        "summary": issue.summary,
        "status": {"name": issue.status_name, "category": issue.status_category_key},
        "url": url,
    }


@api_view("GET")
def form_specification(request: HttpRequest):
    """The Create Ticket form as JSON: the seven fields and the required custom ones, with
    their choices from Jira. `assignee_query` fills the assignee's choices."""
    _require_level_anywhere(request.user, Action.CREATE_TICKET)
    integration = _integration_to_use()
    asked = {key: request.GET.get(key, "") for key in ("project", "issue_type", "assignee_query")}
    unclean = {
        key: UNCLEAN_TEXT_MESSAGE for key, value in asked.items() if not is_clean_text(value)
    }
    if unclean:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=unclean)
    try:
        with services.client_for(integration) as client:
            metadata = load_create_metadata(client, integration, asked)
    except JiraError as error:
        raise _jira_unreachable(error) from None
    _refuse_fallback(asked, metadata)
    form = CreateTicketForm(**metadata["choices"])
    defaults = {"project": metadata["project_key"], "issue_type": metadata["issue_type_id"]}
    return JsonResponse(
        {
            "project": metadata["project_key"],
            "issue_type": metadata["issue_type_id"],
            "fields": [
                _field_json(name, field, defaults.get(name))
                for name, field in form.fields.items()
                if name not in ("assignee_query", "request_token")
            ],
            "unsupported_required_fields": form.unsupported_required,
        }
    )


def _refuse_fallback(asked: dict[str, str], metadata: dict[str, Any]) -> None:
    # The page quietly falls back to the default project or first issue type; a client that
    # asked for one should hear that Jira does not offer it.
    chosen = {"project": metadata["project_key"], "issue_type": metadata["issue_type_id"]}
    wrong = {
        key: "Jira does not offer this here."
        for key in chosen
        if asked[key] not in ("", chosen[key])
    }
    if wrong:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=wrong)


FIELD_TYPES = (
    (forms.MultipleChoiceField, "multi_choice"),
    (forms.ChoiceField, "choice"),
    (forms.DecimalField, "number"),
    (forms.DateField, "date"),
    (forms.CharField, "string"),
)
# How the API takes the fields whose page input differs.
TYPE_OVERRIDES = {"labels": "labels", "assignee": "account_id", "description": "text"}
HELP_OVERRIDES = {
    "summary": "Left out, it is “Anomaly #<id>: <description>”, as the page pre-fills it.",
    "labels": "A list of labels, or one comma-separated text; Jira labels cannot contain spaces.",
    "assignee": "A Jira account id; pass assignee_query= to list assignable users.",
}


def _field_json(name: str, field: forms.Field, default: str | None) -> dict[str, Any]:
    kind = TYPE_OVERRIDES.get(name) or next(t for cls, t in FIELD_TYPES if isinstance(field, cls))
    spec: dict[str, Any] = {
        "name": _api_field_name(name),
        "label": str(field.label or name.replace("_", " ").capitalize()),
        "type": kind,
        "required": field.required,
        "default": default,
        "help_text": HELP_OVERRIDES.get(name, str(field.help_text)),
    }
    if isinstance(field, forms.ChoiceField):
        spec["choices"] = [{"value": v, "label": str(label)} for v, label in field.choices if v]
    if getattr(field, "max_length", None):
        spec["max_length"] = field.max_length
    return spec


@api_view("POST")
def retry_sync_event(request: HttpRequest, event_id: int):
    """Send a failed comment again (the Retry button): Author on the anomaly's datastore."""
    event = SyncEvent.objects.select_related("link").filter(pk=event_id).first()
    if event is None:
        raise Http404("No such sync event.")
    get_anomaly_access(request.user, event.link.anomaly_id, Action.LINK_TICKET)
    if event.link.is_broken:
        raise ApiError(HTTPStatus.CONFLICT, broken_reference_refusal(event.link.issue_key))
    if event.state != SyncState.FAILED:
        raise ApiError(
            HTTPStatus.CONFLICT, f"Only a failed event can be retried; this one is {event.state}."
        )
    services.retry_sync_event(event)
    event.refresh_from_db()
    return JsonResponse({"id": event.pk, "state": event.state, "issue": event.link.issue_key})
