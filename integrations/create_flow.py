"""The Create Ticket flow shared by the page and the JSON API: ask the connector to describe
the form (choices from the remote), build it, and submit it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from anomalies.models import Anomaly
from anomalies.validation import is_clean_text

from . import services
from .connectors import CreateFormSpec, FieldKind
from .models import TicketingIntegration
from .ticket_forms import CreateTicketForm

SUMMARY_FALLBACK_LIMIT = 255


def default_summary(anomaly: Anomaly, limit: int = SUMMARY_FALLBACK_LIMIT) -> str:
    # A summary is one line (the form and the remote refuse newlines); a description may
    # have many.
    one_line = " ".join(anomaly.description.split())
    return f"Anomaly #{anomaly.pk}: {one_line}"[:limit]


def describe_create_form(
    integration: TicketingIntegration, values: Mapping[str, object]
) -> CreateFormSpec:
    """The connector's form for what was chosen so far. Only the values the form refreshes
    on go to the remote, and only when they are clean text: the form refuses the rest."""
    with services.connector_for(integration) as connector:
        return connector.describe_create_form(
            integration.default_project_key, _refresh_values(values)
        )


def _refresh_values(values: Mapping[str, object]) -> dict[str, str]:
    clean = {}
    for key in values:
        value = values.get(key)
        if isinstance(value, str) and is_clean_text(value):
            clean[key] = value
    return clean


def build_create_form(integration, anomaly, submitted, refreshing: bool) -> CreateTicketForm:
    """The form for this request: fresh choices from the remote, and what the user typed."""
    spec = describe_create_form(integration, submitted or {})
    name = integration.connector_class.name
    if submitted is None or refreshing:
        summary = spec.field("summary")
        limit = summary.max_length if summary and summary.max_length else SUMMARY_FALLBACK_LIMIT
        initial = {
            "summary": default_summary(anomaly, limit),
            "request_token": uuid.uuid4(),
            **_initial_from(submitted),
        }
        initial.update({f.name: f.initial for f in spec.fields if f.initial not in (None, "")})
        notes = _search_outcome(spec, submitted, initial) if submitted is not None else {}
        form = CreateTicketForm(initial=initial, spec=spec, remote_name=name)
        for field_name, note in notes.items():
            form.fields[field_name].search_note = note
        return form
    return bound_create_form(integration, spec, submitted)


def _search_outcome(spec: CreateFormSpec, submitted, initial: dict) -> dict[str, str]:
    """After a Find (a refresh by a search field, the page without JavaScript): what the
    search found, in words, and a single match chosen like any other."""
    searched = spec.field(submitted.get("_refresh") or "")
    if searched is None or searched.kind != FieldKind.SEARCH or not searched.searches:
        return {}
    target = spec.field(searched.searches)
    words = (submitted.get(searched.name) or "").strip()
    choices = target.choices if target else ()
    if not words:
        note = "Type part of a name, then press Find."
    elif not choices:
        note = f"No one matches “{words}”."
    elif len(choices) == 1 and not submitted.get(searched.searches):
        initial[searched.searches] = choices[0][0]
        note = f"1 match, chosen: {choices[0][1]}."
    else:
        note = f"{len(choices)} matches: choose one below."
    return {searched.name: note}


def bound_create_form(integration, spec: CreateFormSpec, data) -> CreateTicketForm:
    """The form described by ``spec`` holding ``data`` (None: unbound)."""
    name = integration.connector_class.name
    return CreateTicketForm(data, spec=spec, remote_name=name)


def _initial_from(submitted) -> dict:
    if submitted is None:
        return {}
    return {key: values if len(values) > 1 else values[0] for key, values in submitted.lists()}


def submit_create_form(
    form: CreateTicketForm, integration, anomaly, *, by, token: str | None = None
) -> services.CreateResult | None:
    """Create the ticket once per form; the remote's refusals land on the form beside the
    fields they name. The remote failing (outage, lost answer) raises TicketError with
    ``remote_outage``."""
    data = form.cleaned_data
    ticket = services.NewTicket(
        scope=form.spec.scope,
        summary=data["summary"],
        description=data.get("description") or "",
        values={key: value for key, value in data.items() if key != "request_token"},
        spec=form.spec,
    )
    form_token = data.get("request_token")
    token = token or (f"form:{form_token}" if form_token else None)
    try:
        return services.create_ticket_once(
            anomaly, ticket, integration=integration, by=by, token=token
        )
    except services.TicketError as error:
        if error.remote_outage and not error.field_errors:
            raise
        for field, message in error.field_errors.items():
            form.add_error(form.form_field_for(field), message)
        if not error.field_errors:
            form.add_error(None, error.message)
        return None
