"""The Create Ticket form, built from the connector's description of it (``CreateFormSpec``):
every field and choice comes from the remote's own metadata, none is hard-coded here."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django import forms

from anomalies.validation import CleanInputForm

from .connectors import CreateFormSpec, FieldKind, FormField


class CreateTicketForm(CleanInputForm):
    # One token per opened form: submitting the same form twice creates one ticket.
    request_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, spec: CreateFormSpec, remote_name: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.remote_name = remote_name  # "Jira": how messages name the remote
        for described in spec.fields:
            self.fields[described.name] = self._form_field(described)
        self.unsupported_required = list(spec.unsupported)

    def _form_field(self, described: FormField) -> forms.Field:
        field = form_field(described, remote_name=self.remote_name)
        field.described = described  # the template lays the form out from it
        if described.kind == FieldKind.SEARCH:  # Enter runs its Find button (create-ticket.js)
            field.widget.attrs["data-find"] = described.name
        elif described.refreshes_form:  # a change reloads the dependent choices
            field.widget.attrs["data-refreshes-form"] = described.name
        return field

    # --- in place (htmx), when the page has JavaScript ---------------------------------------

    # What the user types: kept as it is (hx-preserve) while the choices around it reload.
    TYPED_KINDS = (FieldKind.TEXT, FieldKind.TEXTAREA, FieldKind.TAGS)

    def offer_in_place(self, *, refresh_url: str, choices_url: str, searchable) -> None:
        """A choice the rest depends on reloads only the fields (``#create-fields``); a
        search field whose choices the connector can search becomes a typeahead."""
        for described in self.spec.fields:
            attrs = self.fields[described.name].widget.attrs
            if described.kind == FieldKind.SEARCH:
                if described.searches in searchable and described.searches in self.fields:
                    attrs.update(self._typeahead_attrs(described, choices_url))
            elif described.refreshes_form:
                attrs.update(_refresh_attrs(described.name, refresh_url))
            elif described.kind in self.TYPED_KINDS and not described.remote_name:
                attrs["hx-preserve"] = "true"

    def _typeahead_attrs(self, described: FormField, choices_url: str) -> dict[str, str]:
        input_id = self[described.name].auto_id
        asked = urlencode({"field": described.searches, "scope": self.spec.scope})
        self.fields[described.name].typeahead = True  # the template adds the listbox
        return {
            "autocomplete": "off",
            "data-typeahead-url": f"{choices_url}?{asked}&",
            "data-typeahead-listbox": f"{input_id}-listbox",
            "data-typeahead-status": f"{input_id}-status",
            "data-typeahead-fills": self[described.searches].auto_id,
        }

    # --- what the template shows, in the spec's order ---------------------------------------

    @property
    def standard_fields(self):
        return [self[f.name] for f in self.spec.fields if not f.remote_name]

    @property
    def custom_fields(self):
        return [self[f.name] for f in self.spec.fields if f.remote_name]

    # --- cleaning -----------------------------------------------------------------------------

    def clean_summary(self) -> str:
        summary = self.cleaned_data["summary"].strip()
        if "\n" in summary or "\r" in summary:
            raise forms.ValidationError("The summary must be a single line.")
        return summary

    def clean(self):
        for described in self.spec.fields:
            if described.kind == FieldKind.TAGS and described.name in self.cleaned_data:
                self._clean_tags(described)
        if self.unsupported_required:
            raise forms.ValidationError(
                "This form requires fields Qualytics cannot fill in "
                f"({', '.join(self.unsupported_required)}). Choose another type."
            )
        return super().clean()

    def _clean_tags(self, described: FormField) -> None:
        tags = [tag.strip() for tag in (self.cleaned_data[described.name] or "").split(",")]
        tags = [tag for tag in tags if tag]
        spaced = [tag for tag in tags if re.search(r"\s", tag)]
        if spaced:
            self.add_error(
                described.name,
                f"{self.remote_name} {described.label.lower()} cannot contain spaces: "
                f"“{spaced[0]}”. Use a dash or underscore.".lstrip(),
            )
            return
        self.cleaned_data[described.name] = tuple(dict.fromkeys(tags))

    def form_field_for(self, name: str) -> str | None:
        """Where the remote's error about ``name`` (already a form name where the connector
        knows it) belongs on this form; None: the form as a whole."""
        return name if name in self.fields else None


def _refresh_attrs(name: str, refresh_url: str) -> dict[str, str]:
    """htmx: on change, post the whole form to the create view, which answers with the
    fields alone; a later change replaces a reload still under way."""
    return {
        "hx-post": refresh_url,
        "hx-trigger": "change",
        "hx-target": "#create-fields",
        # settle:0ms: the new selects answer a change at once, not 20 ms later.
        "hx-swap": "outerHTML settle:0ms",
        "hx-include": "closest form",
        "hx-vals": json.dumps({"_refresh": name}),
        "hx-sync": "closest form:replace",
    }


def form_field(described: FormField, *, remote_name: str = "") -> forms.Field:
    """The Django input for one described field."""
    common = {
        "label": described.label,
        "required": described.required,
        "help_text": described.help_text,
        "initial": described.initial,
    }
    kind = described.kind
    if kind in (FieldKind.CHOICE, FieldKind.MULTI_CHOICE):
        return _choice_field(described, common)
    if kind == FieldKind.NUMBER:
        # Remote numbers are doubles: more digits than this cannot be sent as one.
        return forms.DecimalField(max_digits=30, **common)
    if kind == FieldKind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldKind.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), **common)
    limit = described.max_length
    messages = {}
    if limit and remote_name:
        what = described.label.lower()
        messages["max_length"] = f"{remote_name} limits the {what} to %(limit_value)d characters."
    return forms.CharField(max_length=limit, error_messages=messages, **common)


def _choice_field(described: FormField, common: dict) -> forms.Field:
    choices = list(described.choices)
    if described.kind == FieldKind.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=choices, **common)
    if described.blank_label or not described.required:
        choices = [("", described.blank_label or "—"), *choices]
    return forms.ChoiceField(choices=choices, **common)
