"""The JSON API of the platform (PRODUCT.md §6): the anomaly list and detail, ingestion,
status changes and comments.

Every view asks the same access helpers and calls the same services as the pages, so the
permissions are the pages' and a change made here queues the same Jira sync events. The HTTP
side (token authentication, JSON bodies and errors) is in `api_http`.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Paginator
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse

from . import services
from .api_http import ApiError, api_view, clean_json, invalid_form, read_json
from .filters import filter_anomalies
from .forms import AnomalyFilterForm, ArchiveForm, CommentForm, IngestForm
from .models import (
    Anomaly,
    Comment,
    Datastore,
    FailedCheck,
    Level,
    User,
)
from .permissions import (
    Action,
    AnomalyAccess,
    effective_level,
    get_anomaly_access,
    visible_datastores,
)
from .validation import parse_id
from .views import PAGE_SIZE, listed_rows

HISTORY_LIMIT = 200  # as many entries as the anomaly page shows

# --- what an anomaly looks like in JSON -----------------------------------------------------

# Other apps add keys to the detail (integrations: "ticket_links"), as they add sections to
# the anomaly page, so this app never imports a connector.
DetailField = Callable[[AnomalyAccess], Any]
_detail_fields: dict[str, DetailField] = {}


def register_detail_field(name: str, provider: DetailField) -> None:
    _detail_fields[name] = provider


def user_json(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": str(user)}


def anomaly_json(anomaly: Anomaly) -> dict[str, Any]:
    """The list row; `tags` should be prefetched."""
    return {
        "id": anomaly.pk,
        "uuid": str(anomaly.uuid),
        "type": anomaly.anomaly_type,
        "status": anomaly.status,
        "weight": anomaly.weight,
        "anomalous_record_count": anomaly.anomalous_record_count,
        "description": anomaly.description,
        "detected_at": anomaly.detected_at,
        "fingerprint": anomaly.fingerprint,
        "datastore": {"id": anomaly.datastore_id, "name": anomaly.datastore.name},
        "container": {"id": anomaly.container_id, "name": anomaly.container.name},
        "tags": [tag.name for tag in anomaly.tags.all()],
        "page_url": settings.SITE_URL + reverse("anomalies:detail", args=[anomaly.pk]),
    }


def anomaly_detail_json(access: AnomalyAccess) -> dict[str, Any]:
    anomaly = access.anomaly
    history = anomaly.history.select_related("actor")[:HISTORY_LIMIT]
    return {
        **anomaly_json(anomaly),
        "archive_note": anomaly.archive_note,
        "status_changed_at": anomaly.status_changed_at,
        "created_at": anomaly.created_at,
        "assignees": [user_json(user) for user in anomaly.assignees.all()],
        "failed_checks": [_failed_check_json(check) for check in anomaly.failed_checks.all()],
        "comments": [
            comment_json(comment) for comment in anomaly.comments.select_related("author")
        ],
        "history": [
            {
                "actor": user_json(entry.actor),
                "action": entry.action,
                "summary": entry.summary,
                "created_at": entry.created_at,
            }
            for entry in history
        ],
        "access": {
            "level": access.level.label,
            **{action.value: access.can(action) for action in Action},
        },
        **{name: provider(access) for name, provider in _detail_fields.items()},
    }


def _failed_check_json(check: FailedCheck) -> dict[str, str]:
    return {"rule_type": check.rule_type, "field": check.field_name, "message": check.message}


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "author": user_json(comment.author),
        "text": comment.text,
        "created_at": comment.created_at,
    }


# --- the list and one anomaly -------------------------------------------------------------


@api_view("GET", "POST")
def anomalies(request: HttpRequest):
    if request.method == "POST":
        return _ingest(request)
    return _anomaly_list(request)


def _anomaly_list(request: HttpRequest) -> JsonResponse:
    """The list page's filters and sorts (status, datastore, type, q, sort), 50 a page."""
    form = AnomalyFilterForm(request.GET, datastores=visible_datastores(request.user))
    if not form.is_valid():
        raise invalid_form(form, message="Some filters are not valid.")
    visible = Anomaly.objects.visible_to(request.user)
    filtered = filter_anomalies(visible, form, user=request.user)
    rows = listed_rows(filtered, form).prefetch_related("tags")
    page = _page(request, Paginator(rows, PAGE_SIZE))
    return JsonResponse(
        {
            "count": page.paginator.count,
            "next": _page_url(request, page.next_page_number()) if page.has_next() else None,
            "previous": (
                _page_url(request, page.previous_page_number()) if page.has_previous() else None
            ),
            "results": [anomaly_json(anomaly) for anomaly in page],
        }
    )


def _page(request: HttpRequest, paginator: Paginator):
    number = parse_id(request.GET.get("page", "1"))
    if number is None:
        raise ApiError(HTTPStatus.BAD_REQUEST, "Bad page.", fields={"page": "Give a number."})
    try:
        return paginator.page(number)
    except EmptyPage:
        raise ApiError(HTTPStatus.NOT_FOUND, f"There is no page {number}.") from None


def _page_url(request: HttpRequest, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


@api_view("GET")
def anomaly_detail(request: HttpRequest, anomaly_id: int):
    return JsonResponse(anomaly_detail_json(get_anomaly_access(request.user, anomaly_id)))


# --- ingestion ------------------------------------------------------------------------------


def _ingest(request: HttpRequest) -> JsonResponse:
    """Idempotent by fingerprint: a known one answers 200 with the anomaly as it is."""
    payload = read_json(request)
    data = clean_json(IngestForm(payload), payload)
    datastore = _datastore_for_ingestion(request.user, data["datastore"])
    container = _named(datastore.containers.all(), data["container"], "container")
    existing = Anomaly.objects.filter(fingerprint=data["fingerprint"]).first()
    if existing is None:
        try:
            anomaly = services.ingest_anomaly(
                data, datastore=datastore, container=container, by=request.user
            )
        except IntegrityError:  # the same fingerprint ingested at the same moment
            existing = Anomaly.objects.get(fingerprint=data["fingerprint"])
        else:
            access = get_anomaly_access(request.user, anomaly.pk)
            return JsonResponse(anomaly_detail_json(access), status=HTTPStatus.CREATED)
    return _already_ingested(request.user, existing)


def _datastore_for_ingestion(user: User, reference) -> Datastore:
    """A datastore the user cannot see does not exist for them; below Editor is a 403."""
    datastore = _named(visible_datastores(user), reference, "datastore")
    level = effective_level(user, datastore)
    if level is None or level < Level.EDITOR:
        raise PermissionDenied(f"Ingesting anomalies needs Editor permission on {datastore}.")
    return datastore


def _named(rows, reference, field: str):
    """The row whose name is `reference`, or whose id it is when it is a number."""
    if isinstance(reference, int) and not isinstance(reference, bool):
        found = rows.filter(pk=reference).first()
    elif isinstance(reference, str):
        found = rows.filter(name=reference.strip()).first()
    else:
        found = None
    if found is None:
        message = f"No {field} {reference!r} that you can see; give its name or id."
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "Some values are not valid.", fields={field: message}
        )
    return found


def _already_ingested(user: User, existing: Anomaly) -> JsonResponse:
    try:
        access = get_anomaly_access(user, existing.pk)
    except Http404:  # fingerprints are global: say it is taken, not by what
        raise ApiError(
            HTTPStatus.CONFLICT,
            "This fingerprint already identifies another anomaly.",
            fields={"fingerprint": "Already in use."},
        ) from None
    return JsonResponse(anomaly_detail_json(access), status=HTTPStatus.OK)


# --- status changes and comments ----------------------------------------------------------


def _status_change(request: HttpRequest, anomaly_id: int, change) -> JsonResponse:
    """Run one service; a refused transition is a 409, never a half-applied change."""
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    payload = read_json(request)
    try:
        anomaly = change(access.anomaly, payload)
    except services.StatusTransitionError as error:
        raise ApiError(HTTPStatus.CONFLICT, str(error)) from None
    return JsonResponse(anomaly_detail_json(AnomalyAccess(request.user, anomaly, access.level)))


@api_view("POST")
def acknowledge(request: HttpRequest, anomaly_id: int):
    return _status_change(
        request,
        anomaly_id,
        lambda anomaly, payload: services.acknowledge_anomaly(anomaly, by=request.user),
    )


@api_view("POST")
def archive(request: HttpRequest, anomaly_id: int):
    def change(anomaly: Anomaly, payload: dict) -> Anomaly:
        data = clean_json(ArchiveForm(payload), payload)
        return services.archive_anomaly(
            anomaly, by=request.user, reason=data["reason"], note=data["note"]
        )

    return _status_change(request, anomaly_id, change)


@api_view("POST")
def restore(request: HttpRequest, anomaly_id: int):
    return _status_change(
        request,
        anomaly_id,
        lambda anomaly, payload: services.restore_anomaly(anomaly, by=request.user),
    )


@api_view("POST")
def comments(request: HttpRequest, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.COMMENT)
    payload = read_json(request)
    text = clean_json(CommentForm(payload), payload)["text"]
    try:
        comment = services.comment_on_anomaly(access.anomaly, by=request.user, text=text)
    except services.CommentRejected as error:
        raise ApiError(HTTPStatus.CONFLICT, str(error)) from None
    return JsonResponse(comment_json(comment), status=HTTPStatus.CREATED)
