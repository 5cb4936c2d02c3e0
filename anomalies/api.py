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

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse

from . import services
from .api_http import ApiError, JsonListField, api_view, clean_json, invalid_form, read_json
from .forms import AnomalyFilterForm, ArchiveForm, CommentForm
from .models import (
    Anomaly,
    AnomalyType,
    Comment,
    Container,
    Datastore,
    FailedCheck,
    Level,
    Tag,
    User,
)
from .permissions import (
    Action,
    AnomalyAccess,
    effective_level,
    get_anomaly_access,
    visible_datastores,
)
from .views import PAGE_SIZE, filter_anomalies, listed_rows

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
            # __members__, not iteration: actions needing the same level are enum aliases.
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
    rows = listed_rows(filter_anomalies(visible, form), form).prefetch_related("tags")
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
    number = request.GET.get("page", "1")
    if not number.isdigit():
        raise ApiError(HTTPStatus.BAD_REQUEST, "Bad page.", fields={"page": "Give a number."})
    try:
        return paginator.page(int(number))
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


class IngestForm(forms.Form):
    """An anomaly as a detector reports it. The datastore and container are names or ids."""

    fingerprint = forms.CharField(max_length=128)
    datastore = forms.Field()
    container = forms.Field()
    type = forms.ChoiceField(choices=AnomalyType.choices)
    weight = forms.IntegerField(min_value=0, required=False)
    anomalous_record_count = forms.IntegerField(min_value=0, required=False)
    description = forms.CharField(max_length=20000)
    detected_at = forms.DateTimeField(
        required=False, help_text="ISO 8601; without an offset it is UTC."
    )
    failed_checks = JsonListField(required=False)
    tags = JsonListField(required=False)

    def clean_failed_checks(self) -> list[FailedCheck]:
        items = self.cleaned_data["failed_checks"]
        return [self._failed_check(number, item) for number, item in enumerate(items, 1)]

    @staticmethod
    def _failed_check(number: int, item) -> FailedCheck:
        if not isinstance(item, dict):
            raise forms.ValidationError(f"Check {number} must be an object.")
        unknown = sorted(set(item) - {"rule_type", "field", "message"})
        if unknown:
            raise forms.ValidationError(f"Check {number}: unknown key {unknown[0]!r}.")
        rule_type, message = item.get("rule_type"), item.get("message")
        field_name = item.get("field") or ""
        for name, value, limit in (("rule_type", rule_type, 50), ("message", message, 20000)):
            if not isinstance(value, str) or not value.strip():
                raise forms.ValidationError(f"Check {number}: {name} is required text.")
            if len(value) > limit:
                raise forms.ValidationError(f"Check {number}: {name} is over {limit} characters.")
        if not isinstance(field_name, str) or len(field_name) > 200:
            raise forms.ValidationError(f"Check {number}: field is text of at most 200 characters.")
        return FailedCheck(
            rule_type=rule_type.strip(), field_name=field_name.strip(), message=message
        )

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data["tags"]
        if not all(isinstance(tag, str) and 0 < len(tag.strip()) <= 50 for tag in tags):
            raise forms.ValidationError("Tags are texts of 1 to 50 characters.")
        return list(dict.fromkeys(tag.strip() for tag in tags))


def _ingest(request: HttpRequest) -> JsonResponse:
    """Idempotent by fingerprint: a known one answers 200 with the anomaly as it is."""
    payload = read_json(request)
    data = clean_json(IngestForm(payload), payload)
    datastore = _datastore_for_ingestion(request.user, data["datastore"])
    container = _named(datastore.containers.all(), data["container"], "container")
    existing = Anomaly.objects.filter(fingerprint=data["fingerprint"]).first()
    if existing is None:
        try:
            anomaly = ingest_anomaly(
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


@transaction.atomic
def ingest_anomaly(
    data: dict[str, Any], *, datastore: Datastore, container: Container, by: User
) -> Anomaly:
    anomaly = Anomaly(
        datastore=datastore,
        container=container,
        fingerprint=data["fingerprint"],
        anomaly_type=data["type"],
        description=data["description"],
        anomalous_record_count=data["anomalous_record_count"],
    )
    if data["weight"] is not None:
        anomaly.weight = data["weight"]
    if data["detected_at"] is not None:
        anomaly.detected_at = data["detected_at"]
    anomaly.save()
    for check in data["failed_checks"]:
        check.anomaly = anomaly
    FailedCheck.objects.bulk_create(data["failed_checks"])
    anomaly.tags.set([Tag.objects.get_or_create(name=name)[0] for name in data["tags"]])
    services.record_history(
        anomaly, action="ingested", summary="Ingested through the API", actor=by
    )
    return anomaly


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
