"""The rule form, shared by the Django admin and the JSON API: one set of checks."""

from __future__ import annotations

import fnmatch

from django import forms

from anomalies.models import Status

from .matching import TemplateRefused, compile_template
from .models import ActionKind, TicketRule

TEMPLATE_FIELDS = ("summary_template", "description_template", "comment_template")
FIELDS = (
    "name",
    "position",
    "paused",
    "continue_matching",
    "trigger",
    "datastores",
    "container_pattern",
    "anomaly_type",
    "check_rule_types",
    "min_weight",
    "statuses",
    "action",
    "project_key",
    "issue_type_id",
    "priority_bands",
    "labels",
    "assignee_account_id",
    "summary_template",
    "description_template",
    "issue_key",
    "comment_template",
    "cooldown_hours",
)


class TicketRuleForm(forms.ModelForm):
    class Meta:
        model = TicketRule
        fields = FIELDS

    def clean(self):
        data = super().clean()
        for name in TEMPLATE_FIELDS:
            try:
                compile_template(data.get(name) or "")
            except TemplateRefused as error:
                self.add_error(name, str(error))
        action = data.get("action")
        if action == ActionKind.CREATE and not data.get("issue_type_id"):
            self.add_error("issue_type_id", "A rule that creates tickets needs an issue type.")
        if action == ActionKind.LINK and not data.get("issue_key"):
            self.add_error("issue_key", "A rule that links needs the ticket's key, e.g. DQ-12.")
        if action == ActionKind.COMMENT and not (data.get("comment_template") or "").strip():
            self.add_error("comment_template", "A rule that comments needs the comment's text.")
        return data

    def clean_statuses(self) -> str:
        text = self.cleaned_data["statuses"]
        unknown = [s.strip() for s in text.split(",") if s.strip() and s.strip() not in Status]
        if unknown:
            raise forms.ValidationError(
                f"Unknown status {', '.join(unknown)}; choose from {', '.join(Status.values)}."
            )
        return text

    def clean_container_pattern(self) -> str:
        pattern = self.cleaned_data["container_pattern"].strip()
        fnmatch.translate(pattern)  # any text is a valid glob; kept for symmetry
        return pattern

    def clean_priority_bands(self):
        bands = self.cleaned_data["priority_bands"] or []
        message = 'Give a list like [{"min_weight": 80, "priority_id": "1"}].'
        if not isinstance(bands, list):
            raise forms.ValidationError(message)
        for band in bands:
            if not isinstance(band, dict) or set(band) != {"min_weight", "priority_id"}:
                raise forms.ValidationError(message)
            if not isinstance(band["min_weight"], int) or band["min_weight"] < 0:
                raise forms.ValidationError("Each band's min_weight is a whole number, 0 or more.")
            band["priority_id"] = str(band["priority_id"])
        return bands

    def clean_cooldown_hours(self) -> float:
        hours = self.cleaned_data["cooldown_hours"]
        if hours < 0:
            raise forms.ValidationError("The cool-down cannot be negative.")
        return hours
