"""Ticket operations from the anomaly page: create, link, search, remove, refresh, retry."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from anomalies.models import Anomaly
from anomalies.permissions import Action, get_anomaly_access

from .. import services
from ..jira import JiraClient, JiraError
from ..models import CredentialsUnreadable, SyncEvent, TicketingIntegration, TicketLink
from ..ticket_forms import CreateTicketForm


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


def default_summary(anomaly: Anomaly) -> str:
    # A summary is one line (the form and Jira refuse newlines); a description may have many.
    one_line = " ".join(anomaly.description.split())
    return f"Anomaly #{anomaly.pk}: {one_line}"[:254]


@login_required
def create_ticket(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.CREATE_TICKET)
    integration = _integration_or_none(request, anomaly_id)
    if integration is None:
        return _back_to(anomaly_id)
    submitted = request.POST if request.method == "POST" else None
    refreshing = submitted is not None and "_refresh" in submitted
    try:
        form = _build_form(integration, access.anomaly, submitted, refreshing)
    except JiraError as error:
        messages.error(request, f"Jira could not be reached: {error.message} {error.hint}")
        return _back_to(anomaly_id)
    if submitted is not None and not refreshing and form.is_valid():
        link = _create(request, form, integration, access.anomaly)
        if link is not None:
            messages.success(request, f"Created Jira issue {link.issue_key} and linked it.")
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


def _build_form(integration, anomaly, submitted, refreshing) -> CreateTicketForm:
    values = submitted or {}
    with services.client_for(integration) as client:
        metadata = _create_metadata(client, integration, values)
    if submitted is None or refreshing:
        initial = {"summary": default_summary(anomaly), **_initial_from(submitted)}
        initial.update(project=metadata["project_key"], issue_type=metadata["issue_type_id"])
        return CreateTicketForm(initial=initial, **metadata["choices"])
    return CreateTicketForm(submitted, **metadata["choices"])


def _initial_from(submitted) -> dict:
    if submitted is None:
        return {}
    return {key: values if len(values) > 1 else values[0] for key, values in submitted.lists()}


def _create_metadata(client: JiraClient, integration, values) -> dict:
    """Projects, then the chosen project's issue types, then that type's fields."""
    projects = client.search_projects()
    keys = [project.key for project in projects]
    project_key = values.get("project") or integration.default_project_key
    if project_key not in keys:
        project_key = (
            integration.default_project_key
            if integration.default_project_key in keys
            else (keys[0] if keys else integration.default_project_key)
        )
    issue_types = [t for t in client.get_issue_types(project_key) if not t.subtask]
    type_ids = [t.id for t in issue_types]
    issue_type_id = values.get("issue_type")
    if issue_type_id not in type_ids:
        issue_type_id = type_ids[0] if type_ids else ""
    fields_meta = client.get_create_fields(project_key, issue_type_id) if issue_type_id else []
    assignees = _assignees(client, project_key, values)
    return {
        "project_key": project_key,
        "issue_type_id": issue_type_id,
        "choices": {
            "projects": projects,
            "issue_types": issue_types,
            "fields_meta": fields_meta,
            "assignees": assignees,
        },
    }


def _assignees(client: JiraClient, project_key: str, values) -> list:
    query = (values.get("assignee_query") or "").strip()
    chosen = values.get("assignee") or ""
    found = client.find_assignable_users(project_key, query) if query else []
    if chosen and chosen not in {user.account_id for user in found}:
        found += client.find_assignable_users(project_key, account_id=chosen)
    return found


def _create(request, form: CreateTicketForm, integration, anomaly) -> TicketLink | None:
    data = form.cleaned_data
    issue = services.NewIssue(
        project_key=data["project"],
        issue_type_id=data["issue_type"],
        summary=data["summary"],
        description=data["description"],
        priority_id=data.get("priority") or "",
        labels=data["labels"],
        assignee_account_id=data["assignee"] or "",
        extra_fields=form.extra_jira_fields(),
    )
    try:
        return services.create_ticket(anomaly, issue, integration=integration, by=request.user)
    except services.TicketError as error:
        for jira_field, message in error.field_errors.items():
            form.add_error(form.form_field_for(jira_field), message)
        if not error.field_errors:
            form.add_error(None, error.message)
        return None


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
            return redirect(f"{url}?{_encode(q=query.words)}")
        link = services.link_existing_issue(
            access.anomaly, query.key, integration=integration, by=request.user
        )
    except services.TicketError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Linked Jira issue {link.issue_key}.")
    return _back_to(anomaly_id)


def _encode(**params) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


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
    refreshed = services.refresh_ticket_statuses(link_ids)
    messages.info(request, f"Refreshed {refreshed} linked ticket{'s' if refreshed != 1 else ''}.")
    return _back_to(anomaly_id)


@login_required
@require_POST
def retry_event(request, event_id: int):
    event = get_object_or_404(SyncEvent.objects.select_related("link"), pk=event_id)
    get_anomaly_access(request.user, event.link.anomaly_id, Action.LINK_TICKET)
    services.retry_sync_event(event)
    messages.success(request, f"Retrying the comment to {event.link.issue_key}.")
    return _back_to(event.link.anomaly_id)
