"""Rules through the JSON API, under /api/rules (Managers and Admins, like Settings and the
admin): list, create, show, edit (PATCH: only the keys given), delete, dry run, preview.
The anomaly detail (and so ingestion's answer) gains "rule_matches"."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import Http404, HttpRequest, JsonResponse

from anomalies.api_http import ApiError, api_view, invalid_form, read_json
from anomalies.permissions import AnomalyAccess, get_anomaly_access

from .forms import FIELDS, TicketRuleForm
from .matching import TemplateRefused
from .models import RuleAction, TicketRule
from .services import dry_run_rule, preview_rule


def rule_json(rule: TicketRule) -> dict[str, Any]:
    data = {name: getattr(rule, name) for name in FIELDS if name != "datastores"}
    return {
        "id": rule.pk,
        **data,
        "datastores": [datastore.pk for datastore in rule.datastores.all()],
        # Read-only: what the check against the create form found.
        "ticket_connector": rule.ticket_connector,
        "ticket_scope": rule.ticket_scope,
        "owner": rule.owner.username if rule.owner else None,
        "owner_display": rule.owner_display,
        "actions_count": rule.actions_count,
        "failures_count": rule.failures_count,
        "created_at": rule.created_at,
    }


def rule_matches_json(access: AnomalyAccess) -> list[dict[str, Any]]:
    """Which rules matched this anomaly, and what each did (the ingestion answer says it)."""
    actions = RuleAction.objects.filter(anomaly=access.anomaly).select_related("rule")
    return [
        {
            "rule": {"id": action.rule_id, "name": action.rule.name},
            "trigger": action.trigger_key.partition("@")[0],
            "action": action.kind,
            "state": action.state,
            "issue_key": action.issue_key,
            "error": action.last_error,
        }
        for action in actions
    ]


def _require_manager(request: HttpRequest) -> None:
    if not request.user.can_manage_integrations:
        raise PermissionDenied("Only Managers and Admins can manage ticket rules.")


def _rule_or_404(rule_id: int) -> TicketRule:
    rule = TicketRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404(f"There is no rule {rule_id}.")
    return rule


@api_view("GET", "POST")
def rules(request: HttpRequest):
    _require_manager(request)
    if request.method == "POST":
        rule = _save(TicketRuleForm(_form_data(read_json(request))), owner=request.user)
        return JsonResponse(rule_json(rule), status=HTTPStatus.CREATED)
    listed = TicketRule.objects.select_related("owner").prefetch_related("datastores")
    return JsonResponse({"results": [rule_json(rule) for rule in listed]})


@api_view("GET", "PATCH", "DELETE")
def rule(request: HttpRequest, rule_id: int):
    _require_manager(request)
    found = _rule_or_404(rule_id)
    if request.method == "DELETE":
        found.delete()
        return JsonResponse({}, status=HTTPStatus.OK)
    if request.method == "PATCH":
        current = model_to_dict(found, fields=FIELDS)
        current["datastores"] = [datastore.pk for datastore in current["datastores"]]
        payload = {**current, **read_json(request)}
        # An orphaned rule (its owner deleted) becomes the editor's.
        owner = found.owner or request.user
        found = _save(TicketRuleForm(_form_data(payload), instance=found), owner=owner)
    return JsonResponse(rule_json(found))


def _form_data(payload: dict[str, Any]) -> dict[str, Any]:
    unknown = {key: "Unknown field." for key in payload if key not in FIELDS}
    if unknown:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields=unknown)
    data = dict(payload)
    data["priority_bands"] = json.dumps(data.get("priority_bands") or [])
    data["ticket_fields"] = json.dumps(data.get("ticket_fields") or {})
    data.setdefault("paused", True)  # a new rule starts paused: dry-run it first
    return data


@transaction.atomic
def _save(form: TicketRuleForm, *, owner) -> TicketRule:
    if not form.is_valid():
        raise invalid_form(form)
    rule = form.save(commit=False)
    rule.owner = owner
    rule.save()
    form.save_m2m()
    return rule


@api_view("GET")
def dry_run(request: HttpRequest, rule_id: int):
    _require_manager(request)
    result = dry_run_rule(_rule_or_404(rule_id))
    return JsonResponse(
        {
            "summary": result.summary(),
            "issues": result.issues,
            "comments": result.comments,
            "links": result.links,
            "items": result.items,
        }
    )


@api_view("POST")
def preview(request: HttpRequest, rule_id: int):
    """The rule's texts rendered with a real anomaly the user can see."""
    _require_manager(request)
    found = _rule_or_404(rule_id)
    anomaly_id = read_json(request).get("anomaly_id")
    if not isinstance(anomaly_id, int) or isinstance(anomaly_id, bool):
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "Bad anomaly.", fields={"anomaly_id": "Give an anomaly id."}
        )
    anomaly = get_anomaly_access(request.user, anomaly_id).anomaly
    try:
        return JsonResponse(preview_rule(found, anomaly))
    except TemplateRefused as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, str(error)) from None
