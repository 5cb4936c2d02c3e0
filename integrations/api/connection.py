"""The ticketing integration through the JSON API (Managers and Admins): show, connect,
edit, disconnect, with any registered connector (``connector``, chosen at connect).
Credentials are accepted, checked against the remote like on the page, and never returned.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse

from anomalies.api import user_json
from anomalies.api_http import ApiError, api_view, clean_json, invalid_form, read_json

from .. import services
from ..forms import ConnectForm, EditForm
from ..models import CredentialsUnreadable, TicketingIntegration

# The page's own steps, so the API cannot drift from it.


@api_view("GET", "POST", "PATCH", "DELETE")
def integration(request: HttpRequest):
    if not request.user.can_manage_integrations:
        raise PermissionDenied("Only Managers and Admins can manage integrations.")
    handlers = {"GET": _show, "POST": _connect, "PATCH": _edit, "DELETE": _disconnect}
    return handlers[request.method](request)


def integration_json(integration: TicketingIntegration) -> dict[str, Any]:
    """Everything about the integration but its credentials, which are write-only."""
    return {
        "id": integration.pk,
        "connector": integration.connector,
        "host_url": integration.host_url,
        "default_project_key": integration.default_project_key,
        "state": integration.state,
        "account_name": integration.account_name,
        "credentials_readable": integration.credentials_readable,
        "connected_by": user_json(integration.connected_by),
        "connected_at": integration.connected_at,
        "disconnected_at": integration.disconnected_at,
        "last_tested_at": integration.last_tested_at,
        "last_test_ok": integration.last_test_ok,
        "last_test_checks": integration.last_test_checks,
        "sync_paused_reason": integration.attention_reason,
    }


def _connected_or_404() -> TicketingIntegration:
    integration = services.connected_integration()
    if integration is None:
        raise Http404("No ticketing integration is connected.")
    return integration


def _show(request: HttpRequest) -> JsonResponse:
    return JsonResponse(integration_json(_connected_or_404()))


def _connect(request: HttpRequest) -> JsonResponse:
    """Connect after the same checks as the page; nothing that fails them is stored."""
    existing = services.connected_integration()
    if existing:
        raise ApiError(HTTPStatus.CONFLICT, str(services.AlreadyConnected(existing)))
    payload = read_json(request)
    payload = {"reattach_links": True, **payload} if isinstance(payload, dict) else payload
    data = clean_json(ConnectForm(payload), payload)
    report = services.check_connection(
        data["host_url"], data["credentials"], data["default_project_key"], data["connector"]
    )
    _refuse_failed_checks(report)
    try:
        connected = services.connect_integration(
            host_url=data["host_url"],
            credentials=data["credentials"],
            default_project_key=data["default_project_key"],
            report=report,
            by=request.user,
            connector=data["connector"],
            reattach_links=data["reattach_links"],
        )
    except services.AlreadyConnected as error:
        raise ApiError(HTTPStatus.CONFLICT, str(error)) from None
    body = {**integration_json(connected), "reattached_links": connected.reattached_link_count}
    return JsonResponse(body, status=HTTPStatus.CREATED)


def _refuse_failed_checks(report: services.ConnectionReport | None) -> None:
    if report is not None and not report.ok:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, report.failure_text(refused=True), checks=report.as_json()
        )


def _edit(request: HttpRequest) -> JsonResponse:
    """Credentials (blank or absent: keep) and default project; the host URL cannot change."""
    current = _connected_or_404()
    payload = read_json(request)
    if "host_url" in payload or "connector" in payload:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "The host URL and connector cannot change: disconnect, then connect again.",
        )
    payload = {"default_project_key": current.default_project_key, **payload}
    form = EditForm(payload, connector=current.connector_class)
    clean_json(form, payload)
    try:
        report = services.check_edited_connection(
            current, form.cleaned_data["credentials"], form.cleaned_data["default_project_key"]
        )
    except CredentialsUnreadable as error:  # stored ones unreadable and none were given
        form.add_error("credentials", str(error))
        raise invalid_form(form) from None
    _refuse_failed_checks(report)
    services.update_integration(
        current,
        credentials=form.cleaned_data["credentials"],
        default_project_key=form.cleaned_data["default_project_key"],
        report=report,
    )
    return JsonResponse(integration_json(current))


def _disconnect(request: HttpRequest) -> JsonResponse:
    """Links stay as history and stop syncing; pending comments are cancelled."""
    current = _connected_or_404()
    cancelled = services.disconnect_integration(current, by=request.user)
    current.refresh_from_db()
    return JsonResponse({**integration_json(current), "cancelled_sync_events": cancelled})


@api_view("POST")
def test_connection(request: HttpRequest):
    """Run the three checks with the stored credentials, as the page's Test button does."""
    if not request.user.can_manage_integrations:
        raise PermissionDenied("Only Managers and Admins can manage integrations.")
    current = _connected_or_404()
    try:
        report = services.check_edited_connection(current, None, current.default_project_key)
    except CredentialsUnreadable as error:
        raise ApiError(HTTPStatus.CONFLICT, str(error)) from None
    services.record_test(current, report)
    return JsonResponse(
        {"ok": report.ok, "message": report.failure_text(refused=False), "checks": report.as_json()}
    )
