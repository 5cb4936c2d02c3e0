"""A rule's ticket fields, connector-neutral: values by the names of the connected system's
create form (``Connector.describe_create_form``: Jira's issue type, priority, labels,
assignee; ServiceNow's urgency, impact, category, assignment group, …), checked against that
form when the rule is saved, and sent as that form would send them (docs/rules.md,
"Ticket fields"). Nothing here knows a connector by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from anomalies.validation import is_clean_text
from integrations.connectors import CreateFormSpec, FieldKind, FormField
from integrations.errors import ConnectorError
from integrations.models import CredentialsUnreadable, TicketingIntegration
from integrations.services import connector_for
from integrations.ticket_forms import form_field

from .models import TicketRule

# Filled by the rule's templates, not by ticket_fields.
TEMPLATED = ("summary", "description")
# Kinds a priority band may set: a band picks among the remote's own choices.
BAND_KINDS = (FieldKind.CHOICE,)


class TicketFieldsRefused(ValueError):
    """Ticket fields the create form does not take; ``errors`` by rule form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class CheckedFields:
    connector: str  # the kind the fields were checked against
    scope: str  # where tickets go, as the connector's form says (Jira: the project key)
    values: dict[str, Any]
    bands: list[dict[str, Any]]
    form: list[dict[str, Any]]  # how each used field is sent (see ``spec_for``)


def check_ticket_fields(
    integration: TicketingIntegration, values: Mapping[str, Any], bands: list[dict[str, Any]]
) -> CheckedFields:
    """The values and the bands' values, cleaned by the integration's create form (its
    choices read from the remote). Raises TicketFieldsRefused."""
    spec = describe_create_form_for(integration, values)
    name = integration.connector_class.name
    problems: list[str] = []
    cleaned = _clean_all(spec, values, problems, name=name)
    missing = [
        field.label
        for field in spec.fields
        if field.required
        and field.name not in cleaned
        and field.name not in TEMPLATED
        and field.name != spec.scope_field
        and field.kind != FieldKind.SEARCH
    ]
    if missing:
        problems.append(f"{name}'s create form needs {', '.join(missing)}.")
    if spec.unsupported:
        problems.append(
            f"{name} requires fields Qualytics cannot fill ({', '.join(spec.unsupported)})."
        )
    errors = {"ticket_fields": " ".join(problems)} if problems else {}
    band_problems: list[str] = []
    checked_bands = []
    for band in bands:
        band_values = _clean_all(spec, band["values"], band_problems, name=name, bands=True)
        checked_bands.append({"min_weight": band["min_weight"], "values": band_values})
    if band_problems:
        errors["priority_bands"] = " ".join(band_problems)
    if errors:
        raise TicketFieldsRefused(errors)
    used = {*cleaned, *(n for band in checked_bands for n in band["values"])}
    return CheckedFields(
        connector=integration.connector,
        scope=spec.scope,
        values=cleaned,
        bands=checked_bands,
        form=[describe_field(field) for field in spec.fields if field.name in used],
    )


def describe_create_form_for(
    integration: TicketingIntegration, values: Mapping[str, Any]
) -> CreateFormSpec:
    """The create form for what the rule chose (dependent choices follow the chosen values,
    as on the Create Ticket page); only clean text goes to the remote."""
    refresh = {k: v for k, v in values.items() if isinstance(v, str) and is_clean_text(v)}
    name = integration.connector_class.name
    try:
        with connector_for(integration) as connector:
            return connector.describe_create_form(integration.default_project_key, refresh)
    except ConnectorError as error:
        raise TicketFieldsRefused(
            {"ticket_fields": f"{name}'s create form could not be read: {error.message}"}
        ) from None
    except CredentialsUnreadable:
        raise TicketFieldsRefused(
            {"ticket_fields": f"The {name} credentials cannot be read; reconnect {name}."}
        ) from None


def _clean_all(
    spec: CreateFormSpec,
    values: Mapping[str, Any],
    problems: list[str],
    *,
    name: str,
    bands: bool = False,
) -> dict[str, Any]:
    cleaned = {}
    for field_name, value in values.items():
        try:
            value = clean_value(spec, field_name, value, remote_name=name, bands=bands)
        except forms.ValidationError as error:
            problems.append(f"{field_name}: {' '.join(error.messages)}")
            continue
        if value not in (None, "", [], ()):
            cleaned[field_name] = value
    return cleaned


def clean_value(
    spec: CreateFormSpec, name: str, value: Any, *, remote_name: str, bands: bool = False
) -> Any:
    """One value as the create form would clean it, in a form JSON can hold."""
    field = spec.field(name)
    allowed = [
        f.name
        for f in spec.fields
        if f.name not in TEMPLATED
        and f.kind != FieldKind.SEARCH
        and (not bands or f.kind in BAND_KINDS)
    ]
    if field is None or field.name not in allowed:
        raise forms.ValidationError(
            f"not a field {remote_name}'s create form takes here; it takes "
            f"{', '.join(allowed) or 'none'}."
        )
    if field.kind == FieldKind.TAGS:
        return _tags(value, remote_name=remote_name, label=field.label)
    cleaned = form_field(field, remote_name=remote_name).clean(value)
    if isinstance(cleaned, Decimal):
        return str(cleaned)
    if isinstance(cleaned, date):
        return cleaned.isoformat()
    return cleaned


def _tags(value: Any, *, remote_name: str, label: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise forms.ValidationError("give a list of words, or one comma-separated text.")
    tags = list(dict.fromkeys(item.strip() for item in items if item.strip()))
    spaced = [tag for tag in tags if any(ch.isspace() for ch in tag)]
    if spaced:
        raise forms.ValidationError(
            f"{remote_name} {label.lower()} cannot contain spaces: “{spaced[0]}”."
        )
    return tags


def describe_field(field: FormField) -> dict[str, Any]:
    """What sending a field needs later without asking the remote again: how the connector
    maps it (custom fields), and its choices' labels, to show them."""
    return {
        "name": field.name,
        "label": field.label,
        "kind": str(field.kind),
        "remote_name": field.remote_name,
        "remote_type": field.remote_type,
        "choices": dict(field.choices),
    }


def spec_for(rule: TicketRule) -> CreateFormSpec | None:
    """The create form as far as the rule's fields need it to be sent; None when none does."""
    if not rule.ticket_form:
        return None
    fields = tuple(
        FormField(
            name=item["name"],
            label=item.get("label", item["name"]),
            kind=FieldKind(item.get("kind", FieldKind.TEXT)),
            remote_name=item.get("remote_name", ""),
            remote_type=item.get("remote_type", ""),
        )
        for item in rule.ticket_form
    )
    return CreateFormSpec(scope=rule.ticket_scope, fields=fields)


def band_values(rule: TicketRule, weight: int) -> dict[str, Any]:
    """The values of the highest band the weight reaches ({} when none)."""
    reached = [band for band in rule.priority_bands if weight >= int(band.get("min_weight", 0))]
    if not reached:
        return {}
    return dict(max(reached, key=lambda band: int(band.get("min_weight", 0)))["values"])


def ticket_values(rule: TicketRule, weight: int) -> dict[str, Any]:
    """The ticket's fields for an anomaly of this weight: the rule's, then its band's."""
    return {**rule.ticket_fields, **band_values(rule, weight)}


def shown_values(rule: TicketRule, values: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each field's label and value, chosen values by the remote's names for them."""
    described = {item["name"]: item for item in rule.ticket_form}
    shown = []
    for name, value in values.items():
        item = described.get(name, {})
        choices = item.get("choices") or {}
        items = value if isinstance(value, list | tuple) else [value]
        text = ", ".join(str(choices.get(str(v), v)) for v in items)
        shown.append({"label": item.get("label", name), "value": text})
    return shown


def out_of_date(rule: TicketRule, integration: TicketingIntegration) -> str:
    """Why the rule's fields cannot go to this integration ("" when they can)."""
    if rule.ticket_connector and rule.ticket_connector != integration.connector:
        return (
            f"The rule's ticket fields were made for another ticketing system; edit the rule "
            f"to choose {integration.connector_class.name}'s fields."
        )
    return ""
