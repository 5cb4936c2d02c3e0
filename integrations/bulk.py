"""The list's ticket bulk actions, registered with anomalies.bulk: link every selected anomaly
to one remote ticket, or create one ticket for all of them; and their inputs in the bulk bar.

The create action offers the choices the single Create Ticket form offers that make sense for
several anomalies at once (Jira: project, issue type, priority): the connector's own create
form (create_flow.describe_create_form, ticket_forms.CreateTicketForm), loaded by htmx only
when the action is chosen, since describing it asks the remote. Without JavaScript the
ticket goes to the defaults (the integration's project, a "Task").
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET

from anomalies.bulk import BulkAction, register_bulk_action
from anomalies.permissions import Action
from anomalies.validation import CleanInputForm, is_clean_text

from . import create_flow
from .connectors import CreateFormSpec
from .errors import ConnectorError
from .services import connected_integration
from .services.bulk_tickets import (
    bulk_choice_fields,
    create_issue_for_anomalies,
    link_anomalies_to_issue,
)

# The bulk bar's create choices are named "create-<field>", apart from the bar's own inputs
# (its "assignee" is a user of this site, Jira's an account there).
CREATE_PREFIX = "create"


class LinkIssueForm(CleanInputForm):
    issue_key = forms.CharField(
        max_length=64, error_messages={"required": "Give the ticket's key, e.g. DQ-123."}
    )

    def clean_issue_key(self) -> str:
        text = self.cleaned_data["issue_key"]
        integration = connected_integration()
        if integration is None:  # the action reports "not connected" for every anomaly
            return text.strip()
        connector = integration.connector_class
        key = connector.normalize_key(text)
        if not key:
            example = connector.key_example
            raise forms.ValidationError(
                f"Give a {connector.name} {connector.ticket_noun} key, e.g. {example}."
            )
        return key


class CreateIssueForm(CleanInputForm):
    summary = forms.CharField(
        max_length=255, error_messages={"required": "Give the new ticket a summary."}
    )
    description = forms.CharField(required=False, max_length=20000)
    token = forms.CharField(required=False, max_length=100)

    def clean(self):
        cleaned = super().clean()
        cleaned["chosen"] = chosen_create_values(self.data)
        return cleaned


def chosen_create_values(data) -> dict[str, str]:
    """The create form's choices made in the bulk bar, by the form's own field names."""
    start = f"{CREATE_PREFIX}-"
    chosen = {}
    for name in data:
        value = data.get(name)
        if name.startswith(start) and isinstance(value, str) and is_clean_text(value):
            chosen[name[len(start) :]] = value[:200]
    return chosen


def _link(anomalies, result, *, by, issue_key):
    link_anomalies_to_issue(
        anomalies, result, by=by, issue_key=issue_key, integration=connected_integration()
    )


def _create(anomalies, result, *, by, summary, description="", token="", chosen=None):
    create_issue_for_anomalies(
        anomalies,
        result,
        by=by,
        summary=summary,
        description=description,
        token=token,
        chosen=chosen or {},
        integration=connected_integration(),
    )


# --- the bulk bar's inputs -----------------------------------------------------------------


def _integration_of(request: HttpRequest):
    """The connected integration, looked up once per request (both actions ask)."""
    if not hasattr(request, "_bulk_integration"):
        request._bulk_integration = connected_integration()
    return request._bulk_integration


def link_options_html(request: HttpRequest) -> str:
    integration = _integration_of(request)
    example = integration.connector_class.key_example if integration else "DQ-123"
    return format_html(
        '<label>Ticket key <input type="text" name="issue_key" maxlength="64" '
        'placeholder="{}"></label>',
        example,
    )


def create_options_html(request: HttpRequest) -> str:
    return render_to_string(
        "integrations/_bulk_create_options.html",
        {
            "integration": _integration_of(request),
            "fields_url": reverse("integrations:bulk_create_fields"),
        },
    )


@require_GET
@login_required
def bulk_create_fields(request: HttpRequest) -> HttpResponse:
    """The create form's choices for the bulk bar (htmx): described by the connector for what
    was chosen so far; a change of a choice the form depends on asks again."""
    if not request.htmx:
        return redirect("anomalies:list")
    integration = connected_integration()
    context = {"integration": integration, "fields_url": request.path, "fields": []}
    if integration is not None:
        try:
            spec = create_flow.describe_create_form(integration, chosen_create_values(request.GET))
        except ConnectorError as error:
            context["error"] = error.message
        else:
            context["fields"] = _bound_choice_fields(integration, spec, request.path)
    return HttpResponse(render_to_string("integrations/_bulk_create_fields.html", context))


def _bound_choice_fields(integration, spec: CreateFormSpec, url: str) -> list:
    """The single Create form, as the connector describes it, reduced to the bulk choices."""
    initial = {f.name: f.initial for f in spec.fields if f.initial not in (None, "")}
    form = create_flow.bound_create_form(integration, spec, None)
    form.prefix = CREATE_PREFIX
    form.initial = initial
    bound = []
    for described in bulk_choice_fields(spec):
        if described.refreshes_form:  # a change brings the choices that depend on it
            form.fields[described.name].widget.attrs.update(
                {
                    "hx-get": url,
                    "hx-target": "closest .bulk-create-fields",
                    "hx-swap": "outerHTML",
                    "hx-include": "closest .bulk-create-fields",
                }
            )
        bound.append(form[described.name])
    return bound


def register() -> None:
    register_bulk_action(
        BulkAction(
            "link_issue",
            "Link to one ticket",
            "linked",
            Action.LINK_TICKET,
            whole=_link,
            options_form=LinkIssueForm,
            options_html=link_options_html,
        )
    )
    register_bulk_action(
        BulkAction(
            "create_issue",
            "Create one ticket",
            "linked to the new ticket",
            Action.CREATE_TICKET,
            whole=_create,
            options_form=CreateIssueForm,
            options_html=create_options_html,
        )
    )
