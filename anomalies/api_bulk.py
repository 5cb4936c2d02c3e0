"""The JSON API's bulk actions and assignments: the list page's bulk bar and the anomaly
page's assignees, one request each, with a result per anomaly."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, JsonResponse, QueryDict
from django.urls import reverse

from . import services
from .api import anomaly_detail_json
from .api_http import ApiError, api_view, read_json
from .bulk import BulkRefused, BulkResult
from .bulk_runs import run_result, runs_of
from .bulk_views import perform_bulk
from .forms import AssigneeForm
from .models import BulkRun, BulkRunState, User
from .permissions import Action, AnomalyAccess, get_anomaly_access
from .validation import parse_id


def _filters(value) -> str:
    """The list's filters, as an object ({"ticket": "sync_failed"}) or a query string."""
    if isinstance(value, dict):
        query = QueryDict(mutable=True)
        for name, item in value.items():
            query[str(name)] = str(item)
        return query.urlencode()
    if isinstance(value, str):
        return value
    raise ApiError(HTTPStatus.BAD_REQUEST, "Give the filters as an object.", fields={"filters": ""})


@api_view("POST")
def bulk(request: HttpRequest):
    """{"action": "acknowledge", "ids": [1, 2]} or {"action": ..., "filters": {...}} (every
    anomaly the list shows for them, at most BULK_LIMIT), plus the action's options."""
    payload = read_json(request)
    ids = payload.get("ids", [])
    if not isinstance(ids, list):
        raise ApiError(HTTPStatus.BAD_REQUEST, "Give ids as a list.", fields={"ids": "A list."})
    data = {**payload, "scope": "all" if "filters" in payload else "selected"}
    data["filters"] = _filters(payload.get("filters", ""))
    data.pop("ids", None)
    try:
        result = perform_bulk(request.user, data, ids, back=data["filters"])
    except BulkRefused as refused:
        raise ApiError(HTTPStatus.BAD_REQUEST, str(refused)) from None
    if isinstance(result, BulkRun):
        # Too many to answer at once: 202, and where to read the outcome when it is done.
        response = JsonResponse(_run_json(result), status=HTTPStatus.ACCEPTED)
        response["Location"] = response_location(result)
        return response
    return JsonResponse(_result_json(result))


@api_view("GET")
def bulk_run(request: HttpRequest, run_id: int):
    """A bulk request answered with 202: its progress, and its results once done."""
    run = runs_of(request.user).filter(pk=run_id).first()
    if run is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "No such bulk run.")
    return JsonResponse(_run_json(run))


def response_location(run: BulkRun) -> str:
    return reverse("anomalies_api:bulk_run", args=[run.pk])


def _run_json(run: BulkRun) -> dict:
    result = run_result(run)
    finished = run.state == BulkRunState.DONE
    body = {
        "run": run.pk,
        "state": run.state,
        "url": response_location(run),
        "total": len(run.anomaly_ids),
        "processed": result.processed,
    }
    if finished and run.refused:
        return body | {"refused": run.refused}
    if finished:
        return body | _result_json(result)
    return body


def _result_json(result: BulkResult) -> dict:
    return {
        "summary": result.summary(),
        "done": len(result.done),
        "skipped": len(result.skipped),
        "notes": result.notes,
        "results": result.per_anomaly(),
    }


@api_view("POST")
def assignees(request: HttpRequest, anomaly_id: int):
    """{"user": <id>}: assign someone who can see the anomaly's datastore."""
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    payload = read_json(request)
    form = AssigneeForm({"assignee": payload.get("user")})
    if not form.is_valid():
        raise ApiError(HTTPStatus.BAD_REQUEST, "Give a user id.", fields={"user": "No such user."})
    return _assignment(request, access, services.assign_anomaly, form.cleaned_data["assignee"])


@api_view("DELETE")
def assignee(request: HttpRequest, anomaly_id: int, user_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    user = User.objects.filter(pk=parse_id(str(user_id)) or 0).first()
    if user is None:
        raise ApiError(HTTPStatus.NOT_FOUND, "No such user.")
    return _assignment(request, access, services.unassign_anomaly, user)


def _assignment(request, access: AnomalyAccess, change, user: User) -> JsonResponse:
    try:
        anomaly = change(access.anomaly, by=request.user, assignee=user)
    except services.AssignmentRejected as refused:
        raise ApiError(HTTPStatus.CONFLICT, str(refused)) from None
    return JsonResponse(anomaly_detail_json(AnomalyAccess(request.user, anomaly, access.level)))
