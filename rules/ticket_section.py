"""The rule page's "Ticket fields": the connected system's create form as inputs (the same
fields and choices as the Create Ticket page, read from the remote), turned into the rule's
``ticket_fields`` on submit. The admin and the API take that JSON directly; both are checked
by the same ``TicketRuleForm``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from integrations.connectors import CreateFormSpec, FieldKind
from integrations.models import TicketingIntegration
from integrations.ticket_forms import form_field

from .models import TicketRule
from .ticket_fields import TEMPLATED, TicketFieldsRefused, describe_create_form_for

PREFIX = "ticket-"


class TicketFieldsSection:
    def __init__(
        self, integration: TicketingIntegration | None, rule: TicketRule, posted=None
    ) -> None:
        self.integration = integration
        self.system = integration.connector_class.name if integration else ""
        self.error = ""
        self.form: forms.Form | None = None
        self.spec: CreateFormSpec | None = None
        self.values = posted_values(posted) if posted is not None else dict(rule.ticket_fields)
        if integration is None:
            return
        try:
            self.spec = describe_create_form_for(integration, self.values)
        except TicketFieldsRefused as refused:
            self.error = str(refused)
            return
        if posted is None:  # a new rule starts from the form's own defaults
            for field in self.spec.fields:
                if field.initial not in (None, "") and field.name not in self.values:
                    self.values[field.name] = field.initial
        self.form = self._inputs()

    def _inputs(self) -> forms.Form:
        """Unbound: the inputs show what was chosen; the rule form reports what is wrong."""
        form = forms.Form(prefix=PREFIX.rstrip("-"), initial=self._shown())
        for field in self.spec.fields:
            if field.name not in TEMPLATED:
                form.fields[field.name] = form_field(field, remote_name=self.system)
                form.fields[field.name].required = False  # the check says what is missing
        return form

    def _shown(self) -> dict[str, Any]:
        shown = {}
        for name, value in self.values.items():
            field = self.spec.field(name)
            if field is not None and field.kind == FieldKind.TAGS and isinstance(value, list):
                value = ", ".join(value)
            shown[name] = value
        return shown

    def chosen(self) -> dict[str, Any] | None:
        """The rule's ticket_fields from the inputs (search boxes only narrow choices);
        None when the form could not be read (the rule form then says why)."""
        if self.spec is None:
            return None
        chosen = {}
        for name, value in self.values.items():
            field = self.spec.field(name)
            if field is None or field.kind == FieldKind.SEARCH or name in TEMPLATED:
                continue
            if field.kind == FieldKind.MULTI_CHOICE and isinstance(value, str):
                value = [value]
            if value not in ("", [], None):
                chosen[name] = value
        return chosen

    @property
    def band_choices(self) -> list[dict[str, Any]]:
        """The choice fields a priority band may set, with their choices."""
        if self.spec is None:
            return []
        return [
            {"name": field.name, "label": field.label, "choices": field.choices[:50]}
            for field in self.spec.fields
            if field.kind == FieldKind.CHOICE and field.name not in TEMPLATED
        ]


def posted_values(posted: Mapping) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in posted:
        if key.startswith(PREFIX):
            items = posted.getlist(key)
            values[key.removeprefix(PREFIX)] = items if len(items) > 1 else items[0]
    return values
