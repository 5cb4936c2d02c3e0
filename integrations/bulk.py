"""The list's ticket bulk actions, registered with anomalies.bulk: link every selected anomaly
to one remote ticket, or create one ticket for all of them."""

from __future__ import annotations

from django import forms

from anomalies.bulk import BulkAction, register_bulk_action
from anomalies.permissions import Action
from anomalies.validation import CleanInputForm

from .services import connected_integration
from .services.bulk_tickets import create_issue_for_anomalies, link_anomalies_to_issue


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


def _link(anomalies, result, *, by, issue_key):
    link_anomalies_to_issue(
        anomalies, result, by=by, issue_key=issue_key, integration=connected_integration()
    )


def _create(anomalies, result, *, by, summary, description="", token=""):
    create_issue_for_anomalies(
        anomalies,
        result,
        by=by,
        summary=summary,
        description=description,
        token=token,
        integration=connected_integration(),
    )


def register() -> None:
    register_bulk_action(
        BulkAction(
            "link_issue",
            "Link to one ticket",
            "linked",
            Action.LINK_TICKET,
            whole=_link,
            options_form=LinkIssueForm,
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
        )
    )
