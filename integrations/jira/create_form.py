"""Jira's create metadata as the neutral create form, and the form's values as Jira fields.

Choices come from Jira itself (projects, the project's issue types, the issue type's create
screen with its priorities, assignable users), never from a hard-coded list
(docs/jira-api.md §0.3, §0.4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ..connectors import CreateFormSpec, FieldKind, FormField, TicketDescription, TicketDraft
from . import adf
from .client import JiraClient
from .types import CreateField, JiraIssueType, JiraProject, JiraUser

SUMMARY_LIMIT = 255  # Jira accepts 255; its error text says "less than 255" (docs/jira-api.md)
# Fields the standard inputs already cover, or that Jira fills in itself.
STANDARD_FIELDS = {
    "project",
    "issuetype",
    "summary",
    "description",
    "priority",
    "labels",
    "assignee",
    "reporter",
}
CUSTOM_PREFIX = "jira_"
# Where Jira's field errors belong on the form (Jira's name → the form's).
FORM_FIELD_NAMES = {"issuetype": "issue_type", "project": "project"}
# What the user chose so far that is passed on to Jira to narrow the choices.
REFRESH_INPUTS = ("project", "issue_type", "assignee_query", "assignee")


def describe_create_form(
    client: JiraClient, default_project: str, values: Mapping[str, str]
) -> CreateFormSpec:
    """Projects, then the chosen project's issue types, then that type's fields."""
    projects = client.search_projects()
    project_key = _chosen_project(values.get("project") or "", default_project, projects)
    issue_types = [t for t in client.get_issue_types(project_key) if not t.subtask]
    type_ids = [t.id for t in issue_types]
    issue_type_id = values.get("issue_type") or ""
    if issue_type_id not in type_ids:
        issue_type_id = type_ids[0] if type_ids else ""
    fields_meta = client.get_create_fields(project_key, issue_type_id) if issue_type_id else []
    assignees = _assignees(client, project_key, values)
    return create_form_spec(
        projects=projects,
        issue_types=issue_types,
        fields_meta=fields_meta,
        assignees=assignees,
        project_key=project_key,
        issue_type_id=issue_type_id,
    )


def _chosen_project(asked: str, default: str, projects: list[JiraProject]) -> str:
    keys = [project.key for project in projects]
    chosen = asked or default
    if chosen in keys:
        return chosen
    return default if default in keys else (keys[0] if keys else default)


def _assignees(client: JiraClient, project_key: str, values: Mapping[str, str]) -> list[JiraUser]:
    query = (values.get("assignee_query") or "").strip()
    chosen = values.get("assignee") or ""
    found = client.find_assignable_users(project_key, query) if query else []
    if chosen and chosen not in {user.account_id for user in found}:
        found += client.find_assignable_users(project_key, account_id=chosen)
    return found


def create_form_spec(
    *,
    projects: list[JiraProject],
    issue_types: list[JiraIssueType],
    fields_meta: list[CreateField],
    assignees: list[JiraUser],
    project_key: str = "",
    issue_type_id: str = "",
) -> CreateFormSpec:
    """The form: seven standard inputs, plus the issue type's required custom fields."""
    by_key = {meta.key: meta for meta in fields_meta}
    custom = [
        meta
        for meta in fields_meta
        if meta.key not in STANDARD_FIELDS and meta.required and not meta.has_default_value
    ]
    custom_fields = [(meta, custom_form_field(meta)) for meta in custom]
    fields = [
        FormField(
            "project",
            "Project",
            FieldKind.CHOICE,
            required=True,
            choices=tuple((p.key, f"{p.name} ({p.key})") for p in projects),
            initial=project_key,
            refreshes_form=True,
        ),
        FormField(
            "issue_type",
            "Issue type",
            FieldKind.CHOICE,
            required=True,
            choices=tuple((t.id, t.name) for t in issue_types if not t.subtask),
            initial=issue_type_id,
            refreshes_form=True,
        ),
        FormField("summary", "Summary", FieldKind.TEXT, required=True, max_length=SUMMARY_LIMIT),
        FormField(
            "description",
            "Description",
            FieldKind.TEXTAREA,
            help_text="The anomaly's details and a link back are appended automatically.",
        ),
        *_priority_field(by_key.get("priority")),
        FormField(
            "labels",
            "Labels",
            FieldKind.TAGS,
            help_text="Comma-separated; Jira labels cannot contain spaces.",
        ),
        FormField(
            "assignee_query",
            "Find assignee",
            FieldKind.SEARCH,
            refreshes_form=True,
            searches="assignee",
            help_text="Type part of a name or email address.",
        ),
        FormField(
            "assignee",
            "Assignee",
            FieldKind.CHOICE,
            choices=tuple((user.account_id, user.display_name) for user in assignees),
            blank_label="Unassigned",
            help_text="A Jira account id; pass assignee_query= to list assignable users.",
            remote_type="account_id",
        ),
        *(field for _, field in custom_fields if field is not None),
    ]
    unsupported = tuple(meta.name for meta, field in custom_fields if field is None)
    return CreateFormSpec(
        scope=project_key, fields=tuple(fields), unsupported=unsupported, scope_field="project"
    )


def _priority_field(meta: CreateField | None) -> list[FormField]:
    if meta is None:  # this issue type has no priority: no input
        return []
    # The blank choice says what leaving it blank does: Jira's default, no priority, or
    # (required, no default) nothing valid: a prompt to choose.
    blank = "Default" if meta.has_default_value else ("Choose…" if meta.required else "None")
    return [
        FormField(
            "priority",
            "Priority",
            FieldKind.CHOICE,
            required=meta.required and not meta.has_default_value,
            choices=tuple((value.id, value.name) for value in meta.allowed_values),
            blank_label=blank,
        )
    ]


def custom_form_field(meta: CreateField) -> FormField | None:
    """An input for a required Jira field: text, number, single/multi select, date."""
    kind, items = meta.schema_type, meta.schema_items
    common = {
        "name": CUSTOM_PREFIX + meta.key,
        "label": meta.name,
        "required": True,
        "remote_name": meta.key,
    }
    if meta.allowed_values and kind in ("option", "array") and items in (None, "option"):
        choices = tuple((value.id, value.name) for value in meta.allowed_values)
        if kind == "array":
            return FormField(
                kind=FieldKind.MULTI_CHOICE, choices=choices, remote_type=kind, **common
            )
        return FormField(
            kind=FieldKind.CHOICE,
            choices=choices,
            blank_label="Choose…",
            remote_type=kind,
            **common,
        )
    if kind == "string":
        textarea = bool(meta.schema_custom and meta.schema_custom.endswith(":textarea"))
        # Multi-line custom fields take ADF on v3.
        remote_type = "textarea" if textarea else "string"
        return FormField(kind=FieldKind.TEXT, max_length=32767, remote_type=remote_type, **common)
    if kind == "number":
        return FormField(kind=FieldKind.NUMBER, remote_type=kind, **common)
    if kind == "date":
        return FormField(kind=FieldKind.DATE, remote_type=kind, **common)
    return None


def custom_field_values(spec: CreateFormSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The custom fields' values as Jira's create endpoint takes them, by Jira field key."""
    found = {}
    for field in spec.fields:
        value = values.get(field.name)
        if field.remote_name and value not in (None, "", [], ()):
            found[field.remote_name] = jira_value(field.remote_type, value)
    return found


def jira_value(remote_type: str, value: Any) -> Any:
    """The value as Jira's create endpoint takes it for that field's schema."""
    if remote_type == "option":
        return {"id": value}
    if remote_type == "array":
        return [{"id": item} for item in value]
    if remote_type == "number":
        number = Decimal(value)
        return float(number) if number % 1 else int(number)
    if isinstance(value, date):
        return value.isoformat()
    if remote_type == "textarea":
        return adf.text_to_adf(value)
    return value


def issue_fields(draft: TicketDraft, spec: CreateFormSpec | None) -> dict[str, Any]:
    """The create call's ``fields``: the standard inputs, then the custom ones."""
    values = draft.values
    fields: dict[str, Any] = {
        "project": {"key": draft.scope},
        "issuetype": {"id": values.get("issue_type") or ""},
        "summary": draft.summary,
        "description": description_adf(draft.description),
        **(custom_field_values(spec, values) if spec else {}),
    }
    if values.get("priority"):
        fields["priority"] = {"id": values["priority"]}
    if values.get("labels"):
        fields["labels"] = list(values["labels"])
    if values.get("assignee"):
        fields["assignee"] = {"accountId": values["assignee"]}
    return fields


def description_adf(description: TicketDescription) -> dict:
    """The new issue's description as ADF: the user's text, a rule, then the context (one
    block of facts and a link per anomaly)."""
    user_text = description.user_text
    blocks = adf.text_to_adf(user_text)["content"] if user_text.strip() else []
    context: list[dict] = []
    for block in description.blocks:
        facts: list[dict] = []
        for line in block.facts:
            facts += [adf.hard_break(), adf.text(line)] if facts else [adf.text(line)]
        context += [
            adf.paragraph(*facts),
            adf.paragraph(adf.text(description.link_label), adf.link(block.url, block.url)),
        ]
    return adf.adf_doc(
        *blocks,
        {"type": "rule"},
        adf.paragraph(adf.strong(description.header)),
        *context,
    )


def form_field_errors(field_errors: Mapping[str, str], spec: CreateFormSpec | None) -> dict:
    """Jira's field errors keyed by the form's field names where the form has that field."""
    names = {field.name for field in spec.fields} if spec else set()
    placed = {}
    for jira_field, message in field_errors.items():
        name = FORM_FIELD_NAMES.get(jira_field, jira_field)
        if name not in names and CUSTOM_PREFIX + jira_field in names:
            name = CUSTOM_PREFIX + jira_field
        placed[name] = message
    return placed


PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,49}")


def clean_project_key(value: str) -> str:
    key = value.strip().upper()
    if not PROJECT_KEY.fullmatch(key):
        raise ValueError(
            "A Jira project key is letters, digits and underscores, starting with a letter "
            "(for example DQ)."
        )
    return key
