"""The Create Ticket flow shared by the page and the JSON API: load Jira's create metadata,
build the form from it, and submit it."""

from __future__ import annotations

import uuid

from anomalies.models import Anomaly
from anomalies.validation import is_clean_text

from . import services
from .jira import JiraClient
from .ticket_forms import SUMMARY_LIMIT, CreateTicketForm


def default_summary(anomaly: Anomaly) -> str:
    # A summary is one line (the form and Jira refuse newlines); a description may have many.
    one_line = " ".join(anomaly.description.split())
    return f"Anomaly #{anomaly.pk}: {one_line}"[:SUMMARY_LIMIT]


def build_create_form(integration, anomaly, submitted, refreshing: bool) -> CreateTicketForm:
    """The form for this request: fresh choices from Jira, and what the user typed."""
    values = submitted or {}
    with services.client_for(integration) as client:
        metadata = load_create_metadata(client, integration, values)
    if submitted is None or refreshing:
        initial = {
            "summary": default_summary(anomaly),
            "request_token": uuid.uuid4(),
            **_initial_from(submitted),
        }
        initial.update(project=metadata["project_key"], issue_type=metadata["issue_type_id"])
        return CreateTicketForm(initial=initial, **metadata["choices"])
    return CreateTicketForm(submitted, **metadata["choices"])


def _initial_from(submitted) -> dict:
    if submitted is None:
        return {}
    return {key: values if len(values) > 1 else values[0] for key, values in submitted.lists()}


def load_create_metadata(client: JiraClient, integration, values) -> dict:
    """Projects, then the chosen project's issue types, then that type's fields. What the
    user sent is only passed on to Jira when it is clean text; the form refuses the rest."""
    values = {key: _clean_or_blank(values.get(key)) for key in SENT_TO_JIRA}
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


SENT_TO_JIRA = ("project", "issue_type", "assignee_query", "assignee")


def _clean_or_blank(value) -> str:
    return value if isinstance(value, str) and is_clean_text(value) else ""


def _assignees(client: JiraClient, project_key: str, values) -> list:
    query = (values.get("assignee_query") or "").strip()
    chosen = values.get("assignee") or ""
    found = client.find_assignable_users(project_key, query) if query else []
    if chosen and chosen not in {user.account_id for user in found}:
        found += client.find_assignable_users(project_key, account_id=chosen)
    return found


def submit_create_form(
    form: CreateTicketForm, integration, anomaly, *, by, token: str | None = None
) -> services.CreateResult | None:
    """Create the issue once per form; Jira's refusals land on the form beside the fields
    they name. Jira failing (outage, lost answer) raises TicketError with ``jira_outage``."""
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
    form_token = data.get("request_token")
    token = token or (f"form:{form_token}" if form_token else None)
    try:
        return services.create_ticket_once(
            anomaly, issue, integration=integration, by=by, token=token
        )
    except services.TicketError as error:
        if error.jira_outage and not error.field_errors:
            raise
        for jira_field, message in error.field_errors.items():
            form.add_error(form.form_field_for(jira_field), message)
        if not error.field_errors:
            form.add_error(None, error.message)
        return None
