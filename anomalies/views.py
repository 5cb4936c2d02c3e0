from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import services
from .filters import filter_anomalies
from .forms import SORTS, AnomalyFilterForm, ArchiveForm, CommentForm
from .models import ARCHIVE_REASONS, OPEN_STATUSES, Anomaly, Status
from .permissions import Action, get_anomaly_access, visible_datastores
from .sections import annotate_rows, render_detail_sections

PAGE_SIZE = 50
DEFAULT_STATUS_FILTER = "open"
DEFAULT_SORT = "-detected"
STATUS_GROUPS = {
    "open": OPEN_STATUSES,
    "archived": ARCHIVE_REASONS,
    "all": tuple(Status),
}


def listed_statuses(form: AnomalyFilterForm) -> tuple[str, ...]:
    status_filter = form.cleaned_or_default("status", DEFAULT_STATUS_FILTER)
    return STATUS_GROUPS.get(status_filter, (status_filter,))


def listed_rows(filtered: QuerySet, form: AnomalyFilterForm) -> QuerySet:
    """The filtered anomalies in the chosen status group and order, with what a row shows."""
    sort = form.cleaned_or_default("sort", DEFAULT_SORT)
    return (
        filtered.filter(status__in=listed_statuses(form))
        .select_related("datastore", "container")
        .order_by(*SORTS[sort])
    )


def _counts_by_status(anomalies: QuerySet) -> dict[str, int]:
    rows = anomalies.order_by().values_list("status").annotate(n=Count("id"))
    by_status = {status.value: 0 for status in Status}
    by_status.update(dict(rows))
    return by_status


def _status_tabs(request, counts: dict[str, int]) -> list[dict]:
    """One tab per status group and status, each keeping the other filters."""
    tabs = [
        ("open", "Open", sum(counts[s] for s in OPEN_STATUSES)),
        *[(s.value, s.label, counts[s]) for s in OPEN_STATUSES],
        ("archived", "Archived", sum(counts[s] for s in ARCHIVE_REASONS)),
        *[(s.value, s.label, counts[s]) for s in ARCHIVE_REASONS],
        ("all", "All", sum(counts.values())),
    ]
    query = request.GET.copy()
    query.pop("page", None)
    links = []
    for value, label, count in tabs:
        query["status"] = value
        links.append({"value": value, "label": label, "count": count, "query": query.urlencode()})
    return links


@login_required
def anomaly_list(request):
    datastores = list(visible_datastores(request.user))
    form = AnomalyFilterForm(request.GET or None, datastores=datastores)
    filtered = filter_anomalies(Anomaly.objects.visible_to(request.user), form, user=request.user)
    counts = _counts_by_status(filtered)

    status_filter = form.cleaned_or_default("status", DEFAULT_STATUS_FILTER)
    statuses = listed_statuses(form)
    sort = form.cleaned_or_default("sort", DEFAULT_SORT)
    rows = listed_rows(filtered, form)
    paginator = Paginator(rows, PAGE_SIZE)
    # The per-status counts already hold the total; spare the paginator its COUNT query.
    paginator.count = sum(counts[status] for status in statuses)
    page = paginator.get_page(request.GET.get("page"))
    annotate_rows(page.object_list)
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
    return render(
        request,
        "anomalies/anomaly_list.html",
        {
            "form": form,
            "page": page,
            "counts": counts,
            "tabs": _status_tabs(request, counts),
            "status_filter": status_filter,
            "sort": sort,
            "query_without_page": query_without_page.urlencode(),
        },
    )


@login_required
def anomaly_detail(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id)
    anomaly = access.anomaly
    return render(
        request,
        "anomalies/anomaly_detail.html",
        {
            "anomaly": anomaly,
            "access": access,
            "failed_checks": anomaly.failed_checks.all(),
            "comments": anomaly.comments.select_related("author"),
            "history": anomaly.history.select_related("actor")[:200],
            "tags": anomaly.tags.all(),
            "assignees": anomaly.assignees.all(),
            "archive_form": ArchiveForm(),
            "comment_form": CommentForm(),
            "sections": render_detail_sections(request, access),
        },
    )


def _back_to(anomaly_id: int):
    return redirect("anomalies:detail", anomaly_id=anomaly_id)


def _apply(
    request, anomaly_id: int, change, success: str, *, refused=services.StatusTransitionError
):
    """Run one change; its refusal becomes a message, never a half-applied change."""
    try:
        change()
    except refused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return _back_to(anomaly_id)


@login_required
@require_POST
def acknowledge(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    return _apply(
        request,
        anomaly_id,
        lambda: services.acknowledge_anomaly(access.anomaly, by=request.user),
        "Anomaly acknowledged.",
    )


@login_required
@require_POST
def archive(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a reason to archive this anomaly.")
        return _back_to(anomaly_id)
    reason, note = form.cleaned_data["reason"], form.cleaned_data["note"]
    return _apply(
        request,
        anomaly_id,
        lambda: services.archive_anomaly(access.anomaly, by=request.user, reason=reason, note=note),
        f"Anomaly archived as {reason}.",
    )


@login_required
@require_POST
def restore(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    return _apply(
        request,
        anomaly_id,
        lambda: services.restore_anomaly(access.anomaly, by=request.user),
        "Anomaly restored to Acknowledged.",
    )


@login_required
@require_POST
def comment(request, anomaly_id: int):
    access = get_anomaly_access(request.user, anomaly_id, Action.COMMENT)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["text"][0])
        return _back_to(anomaly_id)
    text = form.cleaned_data["text"]
    return _apply(
        request,
        anomaly_id,
        lambda: services.comment_on_anomaly(access.anomaly, by=request.user, text=text),
        "Comment added.",
        refused=services.CommentRejected,
    )
