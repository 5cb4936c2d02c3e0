"""The rule form, shared by the Django admin and the JSON API: one set of checks."""

from __future__ import annotations

import fnmatch

from django import forms

from anomalies.models import Status
from integrations.services import connected_integration

from .matching import TemplateRefused, compile_template
from .models import ActionKind, TicketRule
from .ticket_fields import TicketFieldsRefused, check_ticket_fields

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
    "ticket_fields",
    "priority_bands",
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A callable model default (dict, list) makes Django compare with a hidden initial
        # input the API never sends: compare with the rule itself, so "changed" means changed.
        for name in ("ticket_fields", "priority_bands"):
            self.fields[name].show_hidden_initial = False

    def clean(self):
        data = super().clean()
        for name in TEMPLATE_FIELDS:
            try:
                compile_template(data.get(name) or "")
            except TemplateRefused as error:
                self.add_error(name, str(error))
        action = data.get("action")
        if action == ActionKind.CREATE and not self.errors and self._ticket_fields_to_check():
            self._check_ticket_fields(data)
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

    def clean_ticket_fields(self) -> dict:
        values = self.cleaned_data["ticket_fields"] or {}
        if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
            raise forms.ValidationError(
                'Give the create form\'s fields by name, like {"issue_type": "10001"}.'
            )
        return values

    def clean_priority_bands(self):
        bands = self.cleaned_data["priority_bands"] or []
        message = 'Give a list like [{"min_weight": 80, "values": {"priority": "1"}}].'
        if not isinstance(bands, list):
            raise forms.ValidationError(message)
        for band in bands:
            if not isinstance(band, dict) or set(band) != {"min_weight", "values"}:
                raise forms.ValidationError(message)
            if not isinstance(band["values"], dict) or not band["values"]:
                raise forms.ValidationError(message)
            weight = band["min_weight"]
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise forms.ValidationError("Each band's min_weight is a whole number, 0 or more.")
        return bands

    def _ticket_fields_to_check(self) -> bool:
        """A new rule, new fields, bands or action, or another system connected since the
        check: pausing or renaming a rule needs no call to the remote (nor that it answers)."""
        if self.instance.pk is None:
            return True
        if {"ticket_fields", "priority_bands", "action"} & set(self.changed_data):
            return True
        integration = connected_integration()  # nothing connected: nothing to check against
        return integration is not None and integration.connector != self.instance.ticket_connector

    def _check_ticket_fields(self, data: dict) -> None:
        """Against the connected system's create form; what it found is kept on the rule
        (the connector, the scope, how each field is sent)."""
        integration = connected_integration()
        if integration is None:
            self.add_error(
                "ticket_fields",
                "Connect a ticketing integration first: a rule's ticket fields are chosen "
                "from its create form.",
            )
            return
        try:
            checked = check_ticket_fields(
                integration, data.get("ticket_fields") or {}, data.get("priority_bands") or []
            )
        except TicketFieldsRefused as refused:
            for name, message in refused.errors.items():
                self.add_error(name, message)
            return
        data["ticket_fields"], data["priority_bands"] = checked.values, checked.bands
        self.instance.ticket_connector = checked.connector
        self.instance.ticket_scope = checked.scope
        self.instance.ticket_form = checked.form

    def clean_cooldown_hours(self) -> float:
        hours = self.cleaned_data["cooldown_hours"]
        if hours < 0:
            raise forms.ValidationError("The cool-down cannot be negative.")
        return hours
