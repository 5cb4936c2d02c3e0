"""Ticket operations from the anomaly page: create, link, search, remove, refresh, retry."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from anomalies.permissions import Action, get_anomaly_access

from .. import services
from ..create_flow import build_create_form, submit_create_form
from ..jira import JiraError
from ..models import CredentialsUnreadable, SyncEvent, TicketingIntegration, TicketLink
from ..services import reconnect
from ..services.creating import earlier_outcome_unknown
from ..services.tickets import refresh_links


def _back_to(anomaly_id: int):
    return redirect(reverse("anomalies:detail", args=[anomaly_id]) + "#linked-tickets")


def _integration_or_none(request, anomaly_id: int) -> TicketingIntegration | None:
    integration = services.connected_integration()
    if integration is None:
        messages.error(request, "No ticketing integration is connected.")
    elif not integration.credentials_readable:
        messages.error(request, str(CredentialsUnreadable()))
        return None
    return integration


@login_required
def create_ticket(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.CREATE_TICKET)
    integration = _integration_or_none(request, anomaly_id)
    if integration is None:
        return _back_to(anomaly_id)
    submitted = request.POST if request.method == "POST" else None
    refreshing = submitted is not None and "_refresh" in submitted
    try:
        form = build_create_form(integration, access.anomaly, submitted, refreshing)
    except JiraError as error:
        if submitted is None:
            messages.error(request, f"Jira could not be reached: {error.message} {error.hint}")
            return _back_to(anomaly_id)
        return _jira_unavailable(request, access.anomaly, submitted, error)
    if submitted is not None and not refreshing and form.is_valid():
        try:
            result = submit_create_form(form, integration, access.anomaly, by=request.user)
        except services.TicketError as error:
            return _create_failed(request, access.anomaly, submitted, error)
        if result is not None:
            messages.success(
                request, CREATED_MESSAGES[result.how].format(key=result.link.issue_key)
            )
            return _back_to(anomaly_id)
    return render(
        request,
        "integrations/create_ticket.html",
        {
            "anomaly": access.anomaly,
            "form": form,
            "integration": integration,
        },
    )


CREATED_MESSAGES = {
    "created": "Created Jira issue {key} and linked it.",
    "recovered": "Created Jira issue {key} and linked it (Jira's answer was lost; Qualytics "
    "found the issue it had created).",
    "already_created": "This form had already created Jira issue {key}; it is linked. "
    "Nothing new was created.",
}


def _create_failed(request, anomaly, submitted, error: services.TicketError):
    """Jira failed during the create itself: say whether anything was created."""
    return _unavailable_page(
        request, anomaly, submitted, message=error.message, unknown=error.outcome_unknown
    )


def _jira_unavailable(request, anomaly, submitted, error: JiraError):
    """Jira failed while the form was being prepared: nothing was sent by this request, but
    an earlier submit of the same form may still have an unknown outcome."""
    token = submitted.get("request_token") or ""
    unknown = bool(token) and earlier_outcome_unknown(request.user, f"form:{token}")
    message = f"{error.message} {error.hint}"
    return _unavailable_page(request, anomaly, submitted, message=message, unknown=unknown)


def _unavailable_page(request, anomaly, submitted, *, message: str, unknown: bool):
    """Keep everything typed (and the form's token) for a retry that cannot duplicate."""
    kept = [
        (name, value)
        for name, values in submitted.lists()
        if name not in ("csrfmiddlewaretoken", "_refresh")
        for value in values
    ]
    return render(
        request,
        "integrations/create_ticket_unavailable.html",
        {"anomaly": anomaly, "kept": kept, "message": message, "outcome_unknown": unknown},
        status=HTTPStatus.SERVICE_UNAVAILABLE,
    )


@login_required
@require_POST
def link_ticket(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    integration = _integration_or_none(request, anomaly_id)
    if integration is None:
        return _back_to(anomaly_id)
    text = request.POST.get("query", "").strip()
    if not text:
        messages.error(request, "Enter an issue key, a Jira issue URL, or words to search for.")
        return _back_to(anomaly_id)
    try:
        with services.client_for(integration) as client:
            query = services.parse_link_query(text, client)
        if query.key is None:
            url = reverse("integrations:search", args=[anomaly_id])
            return redirect(f"{url}?{urlencode({'q': query.words})}")
        link = services.link_existing_issue(
            access.anomaly, query.key, integration=integration, by=request.user
        )
    except services.TicketError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Linked Jira issue {link.issue_key}.")
    return _back_to(anomaly_id)


@login_required
def search_tickets(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    integration = _integration_or_none(request, anomaly_id)
    if integration is None:
        return _back_to(anomaly_id)
    words = request.GET.get("q", "").strip()
    results, error = [], ""
    if words:
        try:
            results = services.search_issues(integration, words)
        except services.TicketError as failure:
            error = failure.message
    linked = set(
        TicketLink.objects.current()
        .filter(anomaly=access.anomaly)
        .values_list("issue_key", flat=True)
    )
    return render(
        request,
        "integrations/search_tickets.html",
        {
            "anomaly": access.anomaly,
            "words": words,
            "results": results,
            "error": error,
            "linked": linked,
        },
    )


def _link_for(request, link_id: int) -> TicketLink:
    link = get_object_or_404(TicketLink.objects.current().select_related("integration"), pk=link_id)
    get_anomaly_access(request.user, link.anomaly_id, Action.LINK_TICKET)
    return link


@login_required
@require_POST
def remove_link(request, link_id: int):
    link = _link_for(request, link_id)
    try:
        services.remove_ticket_link(link, by=request.user)
    except services.TicketError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Removed the link to {link.issue_key}. Jira was not changed.")
    return _back_to(link.anomaly_id)


@login_required
@require_POST
def refresh_tickets(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.VIEW)
    link_ids = list(
        TicketLink.objects.current().filter(anomaly=access.anomaly).values_list("pk", flat=True)
    )
    result = refresh_links(link_ids)
    for reason in result.errors:
        messages.error(request, f"The statuses could not be refreshed: {reason}")
    if result.broken:
        messages.warning(
            request,
            f"{result.broken} linked issue{pluralize(result.broken)} "
            f"{'was' if result.broken == 1 else 'were'} not found in Jira (deleted, or the "
            "account cannot see them): remove the link or relink.",
        )
    if result.refreshed or not (result.errors or result.broken):
        messages.success(
            request, f"Refreshed {result.refreshed} linked ticket{pluralize(result.refreshed)}."
        )
    return _back_to(anomaly_id)


@login_required
@require_POST
def retry_event(request, event_id: int):
    event = get_object_or_404(SyncEvent.objects.select_related("link"), pk=event_id)
    get_anomaly_access(request.user, event.link.anomaly_id, Action.LINK_TICKET)
    if event.link.is_broken:
        messages.error(request, broken_reference_refusal(event.link.issue_key))
        return _back_to(event.link.anomaly_id)
    services.retry_sync_event(event)
    messages.success(request, f"Retrying the comment to {event.link.issue_key}.")
    return _back_to(event.link.anomaly_id)


@login_required
@require_POST
def send_missed_comments(request, anomaly_id: int):
    """Send the comments this anomaly owed Jira while it was disconnected."""
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    sent = reconnect.send_missed_events(by=request.user, anomaly=access.anomaly)
    messages.success(request, f"Sending {sent} missed comment{pluralize(sent)} to Jira.")
    return _back_to(anomaly_id)


def broken_reference_refusal(issue_key: str) -> str:
    return (
        f"{issue_key} is a broken reference (deleted in Jira, or the account cannot see it): "
        "retrying cannot help. Remove the link or relink."
    )
