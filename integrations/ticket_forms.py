"""The Create Ticket form, built from Jira's own create metadata (no hard-coded choices)."""

from __future__ import annotations

import re
from datetime import date

from django import forms

from anomalies.validation import CleanInputForm

from .jira import CreateField, JiraIssueType, JiraProject, JiraUser
from .jira.adf import text_to_adf

SUMMARY_LIMIT = 255  # Jira accepts 255; its error text says "less than 255" (docs/jira-api.md)
# Fields the seven standard inputs already cover, or that Jira fills in itself.
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


class CreateTicketForm(CleanInputForm):
    # One token per opened form: submitting the same form twice creates one issue.
    request_token = forms.UUIDField(required=False, widget=forms.HiddenInput)
    project = forms.ChoiceField(label="Project")
    issue_type = forms.ChoiceField(label="Issue type")
    summary = forms.CharField(
        max_length=SUMMARY_LIMIT,
        error_messages={"max_length": "Jira limits the summary to %(limit_value)d characters."},
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="The anomaly's details and a link back are appended automatically.",
    )
    priority = forms.ChoiceField(required=False)
    labels = forms.CharField(
        required=False,
        help_text="Comma-separated; Jira labels cannot contain spaces.",
    )
    assignee_query = forms.CharField(required=False, label="Find assignee")
    assignee = forms.ChoiceField(required=False, label="Assignee")

    def __init__(
        self,
        *args,
        projects: list[JiraProject],
        issue_types: list[JiraIssueType],
        fields_meta: list[CreateField],
        assignees: list[JiraUser],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.key, f"{p.name} ({p.key})") for p in projects]
        self.fields["issue_type"].choices = [(t.id, t.name) for t in issue_types if not t.subtask]
        self.fields_meta = {meta.key: meta for meta in fields_meta}
        self._set_priority(self.fields_meta.get("priority"))
        self.fields["assignee"].choices = [("", "Unassigned")] + [
            (user.account_id, user.display_name) for user in assignees
        ]
        self.unsupported_required: list[str] = []
        for meta in fields_meta:
            if meta.key not in STANDARD_FIELDS and meta.required and not meta.has_default_value:
                self._add_custom_field(meta)

    def _set_priority(self, meta: CreateField | None) -> None:
        if meta is None:  # this issue type has no priority: hide the input
            del self.fields["priority"]
            return
        # The blank choice says what leaving it blank does: Jira's default, no priority, or
        # (required, no default) nothing valid: a prompt to choose.
        blank = "Default" if meta.has_default_value else ("Choose…" if meta.required else "None")
        self.fields["priority"].choices = [("", blank)] + [
            (value.id, value.name) for value in meta.allowed_values
        ]
        self.fields["priority"].required = meta.required and not meta.has_default_value

    def _add_custom_field(self, meta: CreateField) -> None:
        field = custom_form_field(meta)
        if field is None:
            self.unsupported_required.append(meta.name)
            return
        self.fields[CUSTOM_PREFIX + meta.key] = field

    @property
    def custom_fields(self):
        return [self[name] for name in self.fields if name.startswith(CUSTOM_PREFIX)]

    def clean_summary(self) -> str:
        summary = self.cleaned_data["summary"].strip()
        if "\n" in summary or "\r" in summary:
            raise forms.ValidationError("The summary must be a single line.")
        return summary

    def clean_labels(self) -> tuple[str, ...]:
        labels = [label.strip() for label in self.cleaned_data["labels"].split(",")]
        labels = [label for label in labels if label]
        spaced = [label for label in labels if re.search(r"\s", label)]
        if spaced:
            raise forms.ValidationError(
                f"Jira labels cannot contain spaces: “{spaced[0]}”. Use a dash or underscore."
            )
        return tuple(dict.fromkeys(labels))

    def clean(self):
        if self.unsupported_required:
            raise forms.ValidationError(
                "This issue type requires fields Qualytics cannot fill in "
                f"({', '.join(self.unsupported_required)}). Choose another issue type."
            )
        return super().clean()

    def extra_jira_fields(self) -> dict:
        values = {}
        for name, value in self.cleaned_data.items():
            if name.startswith(CUSTOM_PREFIX) and value not in (None, "", []):
                meta = self.fields_meta[name.removeprefix(CUSTOM_PREFIX)]
                values[meta.key] = jira_value(meta, value)
        return values

    def form_field_for(self, jira_field: str) -> str | None:
        """Where Jira's error about `jira_field` belongs on this form."""
        mapping = {"issuetype": "issue_type", "project": "project"}
        name = mapping.get(jira_field, jira_field)
        if name in self.fields:
            return name
        return CUSTOM_PREFIX + jira_field if CUSTOM_PREFIX + jira_field in self.fields else None


def custom_form_field(meta: CreateField) -> forms.Field | None:
    """A form input for a required Jira field: text, number, single/multi select, date."""
    common = {"label": meta.name, "required": True}
    kind, items = meta.schema_type, meta.schema_items
    if meta.allowed_values and kind in ("option", "array") and items in (None, "option"):
        choices = [(value.id, value.name) for value in meta.allowed_values]
        if kind == "array":
            return forms.MultipleChoiceField(choices=choices, **common)
        return forms.ChoiceField(choices=[("", "Choose…"), *choices], **common)
    if kind == "string":
        return forms.CharField(max_length=32767, **common)
    if kind == "number":
        # Jira numbers are doubles: more digits than this cannot be sent as one.
        return forms.DecimalField(max_digits=30, **common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return None


def jira_value(meta: CreateField, value):
    """The value as Jira's create endpoint takes it for that field's schema."""
    if meta.schema_type == "option":
        return {"id": value}
    if meta.schema_type == "array":
        return [{"id": item} for item in value]
    if meta.schema_type == "number":
        return float(value) if value % 1 else int(value)
    if isinstance(value, date):
        return value.isoformat()
    if meta.schema_custom and meta.schema_custom.endswith(":textarea"):
        return text_to_adf(value)  # multi-line custom fields take ADF on v3
    return value
