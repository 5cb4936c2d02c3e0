"""The list's ticket bulk actions, registered with anomalies.bulk: link every selected anomaly
to one Jira issue, or create one Jira issue for all of them."""

from __future__ import annotations

from django import forms

from anomalies.bulk import BulkAction, register_bulk_action
from anomalies.permissions import Action
from anomalies.validation import CleanInputForm

from .services import connected_integration
from .services.bulk_tickets import create_issue_for_anomalies, link_anomalies_to_issue
from .services.tickets import ISSUE_KEY


class LinkIssueForm(CleanInputForm):
    issue_key = forms.CharField(
        max_length=64, error_messages={"required": "Give the Jira issue key, e.g. DQ-123."}
    )

    def clean_issue_key(self) -> str:
        key = self.cleaned_data["issue_key"].strip().upper()
        if not ISSUE_KEY.fullmatch(key):
            raise forms.ValidationError("Give a Jira issue key, e.g. DQ-123.")
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
            "Link to one Jira issue",
            "linked",
            Action.LINK_TICKET,
            whole=_link,
            options_form=LinkIssueForm,
        )
    )
    register_bulk_action(
        BulkAction(
            "create_issue",
            "Create one Jira ticket",
            "linked to the new ticket",
            Action.CREATE_TICKET,
            whole=_create,
            options_form=CreateIssueForm,
        )
    )
