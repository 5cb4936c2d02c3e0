"""Ticket operations from the anomaly page: create, link, search, remove, refresh, retry."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from anomalies.permissions import Action, get_anomaly_access

from .. import services
from ..create_flow import build_create_form, submit_create_form
from ..errors import ConnectorError
from ..link_attempts import LinkAttempt, remember_link_attempt
from ..models import (
    CredentialsUnreadable,
    SyncEvent,
    TicketingIntegration,
    TicketLink,
    stored_category,
)
from ..sections import render_linked_tickets
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
    in_place = refreshing and request.htmx  # only the fields that follow the choice
    try:
        form = build_create_form(integration, access.anomaly, submitted, refreshing)
    except ConnectorError as error:
        if in_place:
            return _refresh_failed(integration, error)
        if submitted is None:
            name = integration.connector_class.name
            messages.error(request, f"{name} could not be reached: {error.message} {error.hint}")
            return _back_to(anomaly_id)
        return _remote_unavailable(request, access.anomaly, submitted, error)
    if submitted is not None and not refreshing and form.is_valid():
        try:
            result = submit_create_form(form, integration, access.anomaly, by=request.user)
        except services.TicketError as error:
            return _create_failed(request, access.anomaly, submitted, error)
        if result is not None:
            messages.success(request, created_message(result, integration))
            return _back_to(anomaly_id)
    form.offer_in_place(
        refresh_url=reverse("integrations:create", args=[anomaly_id]),
        choices_url=reverse("integrations:create_choices", args=[anomaly_id]),
        searchable=integration.connector_class.searchable_fields,
    )
    context = {
        "anomaly": access.anomaly,
        "form": form,
        "integration": integration,
        "connector": integration.connector_class,
        "in_place": in_place,
    }
    template = "_create_fields.html" if in_place else "create_ticket.html"
    return render(request, f"integrations/{template}", context)


def _refresh_failed(integration: TicketingIntegration, error: ConnectorError):
    """Reloading the dependent choices failed: say so above the fields, which keep what
    was typed; nothing was sent that could create anything."""
    notice = format_html(
        '<p class="message message-error" role="alert">{} could not be reached, so the choices '
        "that follow were not reloaded: {} {}</p>",
        integration.connector_class.name,
        error.message,
        error.hint,
    )
    return retarget(reswap(HttpResponse(notice), "innerHTML"), "#create-form-status")


CREATED_MESSAGES = {
    "created": "Created {name} {noun} {key} and linked it.",
    "recovered": "Created {name} {noun} {key} and linked it ({name}'s answer was lost; "
    "Qualytics found the {noun} it had created).",
    "already_created": "This form had already created {name} {noun} {key}; it is linked. "
    "Nothing new was created.",
}


def created_message(result: services.CreateResult, integration: TicketingIntegration) -> str:
    connector = integration.connector_class
    return CREATED_MESSAGES[result.how].format(
        name=connector.name, noun=connector.ticket_noun, key=result.link.issue_key
    )


def _create_failed(request, anomaly, submitted, error: services.TicketError):
    """The remote failed during the create itself: say whether anything was created."""
    return _unavailable_page(
        request, anomaly, submitted, message=error.message, unknown=error.outcome_unknown
    )


def _remote_unavailable(request, anomaly, submitted, error: ConnectorError):
    """The remote failed while the form was being prepared: nothing was sent by this
    request, but an earlier submit of the same form may still have an unknown outcome."""
    token = submitted.get("request_token") or ""
    unknown = bool(token) and earlier_outcome_unknown(request.user, f"form:{token}")
    message = f"{error.message} {error.hint}"
    return _unavailable_page(request, anomaly, submitted, message=message, unknown=unknown)


def _unavailable_page(request, anomaly, submitted, *, message: str, unknown: bool):
    integration = services.connected_integration()
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
        {
            "anomaly": anomaly,
            "kept": kept,
            "message": message,
            "outcome_unknown": unknown,
            "connector": integration.connector_class if integration else None,
        },
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
    connector_class = integration.connector_class
    if not text:
        noun, name = connector_class.ticket_noun, connector_class.name
        refusal = f"Enter an {noun} key, a {name} {noun} URL, or words to search for."
        return _link_refused(request, access, integration, text, refusal)
    try:
        with services.connector_for(integration) as connector:
            query = services.parse_link_query(text, connector)
        if query.key is None:
            url = reverse("integrations:search", args=[anomaly_id])
            return _go_to(request, f"{url}?{urlencode({'q': query.words})}")
        link = services.link_existing_issue(
            access.anomaly, query.key, integration=integration, by=request.user
        )
    except services.TicketError as error:
        return _link_refused(request, access, integration, text, error.message)
    return _linked(request, access, integration, link)


def _linked(request, access, integration, link: TicketLink):
    name, noun = integration.connector_class.name, integration.connector_class.ticket_noun
    linked = f"Linked {name} {noun} {link.issue_key}."
    if request.htmx:
        # The whole section, so the new link shows at once; the form says what happened.
        remember_link_attempt(request, access.anomaly.pk, LinkAttempt(success=linked))
        response = HttpResponse(render_linked_tickets(request, access))
        return retarget(reswap(response, "outerHTML settle:0ms"), "#linked-tickets")
    messages.success(request, linked)
    return _back_to(access.anomaly.pk)


def _link_refused(request, access, integration, text: str, refusal: str):
    """The refusal beside the input, the typed text kept, the form in view."""
    attempt = LinkAttempt(query=text, error=refusal)
    if request.htmx:  # swap the form in place (htmx swaps 2xx answers only)
        context = {
            "anomaly": access.anomaly,
            "connector": integration.connector_class,
            "link_attempt": attempt,
            "in_place": True,
        }
        return render(request, "integrations/_link_form.html", context)
    remember_link_attempt(request, access.anomaly.pk, attempt)
    return redirect(reverse("anomalies:detail", args=[access.anomaly.pk]) + "#link-ticket")


def _go_to(request, url: str):
    """Navigate there: a redirect, or htmx's client-side one for an in-place request."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


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
            results = services.search_tickets(integration, words)
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
            "results": [
                {"ticket": ticket, "category": stored_category(ticket.status)} for ticket in results
            ],
            "error": error,
            "linked": linked,
            "connector": integration.connector_class,
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
        name = link.integration.connector_class.name
        messages.success(request, f"Removed the link to {link.issue_key}. {name} was not changed.")
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
        integration = services.connected_integration()
        connector = integration.connector_class if integration else None
        name = connector.name if connector else "the ticketing system"
        noun = connector.ticket_noun if connector else "ticket"
        messages.warning(
            request,
            f"{result.broken} linked {noun}{pluralize(result.broken)} "
            f"{'was' if result.broken == 1 else 'were'} not found in {name} (deleted, or the "
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
    event = get_object_or_404(SyncEvent.objects.select_related("link__integration"), pk=event_id)
    get_anomaly_access(request.user, event.link.anomaly_id, Action.LINK_TICKET)
    if event.link.is_broken:
        messages.error(request, event.link.broken_reference_refusal)
        return _back_to(event.link.anomaly_id)
    services.retry_sync_event(event)
    noun = event.link.integration.connector_class.note_noun
    messages.success(request, f"Retrying the {noun} to {event.link.issue_key}.")
    return _back_to(event.link.anomaly_id)


@login_required
@require_POST
def send_missed_comments(request, anomaly_id: int):
    """Send the notes this anomaly owed the remote while it was disconnected."""
    access = get_anomaly_access(request.user, anomaly_id, Action.LINK_TICKET)
    sent = reconnect.send_missed_events(by=request.user, anomaly=access.anomaly)
    integration = services.connected_integration()
    if integration is None:
        messages.success(request, f"Sending {sent} missed note{pluralize(sent)}.")
    else:
        connector = integration.connector_class
        messages.success(
            request,
            f"Sending {sent} missed {connector.note_noun}{pluralize(sent)} to {connector.name}.",
        )
    return _back_to(anomaly_id)
