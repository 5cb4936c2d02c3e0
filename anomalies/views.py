from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from . import listing, services
from .bulk_runs import remembered_runs
from .filters import filter_anomalies
from .forms import DEFAULT_PAGE_SIZE, PAGE_SIZES, SORTS, AnomalyFilterForm, ArchiveForm, CommentForm
from .listing import CURSOR_PARAMS, CappedCount, count_by_status, keyset_page, total
from .models import ARCHIVE_REASONS, OPEN_STATUSES, Anomaly, AnomalyType, Status
from .permissions import Action, get_anomaly_access, visible_datastores
from .sections import activity_timeline, annotate_rows, render_detail_sections, render_list_footers

PAGE_SIZE = DEFAULT_PAGE_SIZE  # the JSON API's pages
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


def _without_cursor(request):
    query = request.GET.copy()
    for param in CURSOR_PARAMS:
        query.pop(param, None)
    return query


def _status_tabs(request, counts: dict[str, CappedCount]) -> list[dict]:
    """One tab per status group and status, each keeping the other filters."""
    tabs = [
        ("open", "Open", total(counts, OPEN_STATUSES)),
        *[(s.value, s.label, counts[s]) for s in OPEN_STATUSES],
        ("archived", "Archived", total(counts, ARCHIVE_REASONS)),
        *[(s.value, s.label, counts[s]) for s in ARCHIVE_REASONS],
        ("all", "All", total(counts, tuple(Status))),
    ]
    query = _without_cursor(request)
    links = []
    for value, label, count in tabs:
        query["status"] = value
        links.append({"value": value, "label": label, "count": count, "query": query.urlencode()})
    return links


# The clickable column headers: (column, label, the sort a first click picks). Numbers and
# dates start with the largest; the status starts from A.
SORTABLE_COLUMNS = [
    ("id", "ID", "-id"),
    ("status", "Status", "status"),
    ("weight", "Weight", "-weight"),
    ("detected", "Detected", "-detected"),
]


def _column_headers(request, sort: str) -> dict[str, dict]:
    """Each sortable column's link (a click on the sorted column reverses it) and its
    aria-sort, keeping the filters and going back to the first page."""
    query = _without_cursor(request)
    headers = {}
    for column, label, first_click in SORTABLE_COLUMNS:
        current = sort.lstrip("-") == column
        descending = sort.startswith("-")
        query["sort"] = (column if descending else f"-{column}") if current else first_click
        headers[column] = {
            "label": label,
            "query": query.urlencode(),
            "aria_sort": ("descending" if descending else "ascending") if current else "",
        }
    return headers


TYPE_LABELS = dict(AnomalyType.choices)
DESCRIPTION_CHARS = 110


def _rows_html(anomalies: list, detail_prefix: str) -> SafeString:
    """The table rows, built in Python: the template engine costs more than the data.

    Every value is escaped here; `row_notes` are already safe HTML from registered apps.
    """
    annotate_rows(anomalies)
    return mark_safe("".join(_row_html(anomaly, detail_prefix) for anomaly in anomalies))  # noqa: S308


def _row_html(anomaly, detail_prefix: str) -> str:
    href = f"{detail_prefix}{anomaly.pk}/"
    text = anomaly.description
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1] + "…"
    detected = anomaly.detected_at
    status = escape(anomaly.status)
    notes = " ".join(anomaly.row_notes)
    return (
        # The bulk bar's selection: the box belongs to the bar's form (`form="bulk"`).
        f'<tr><td><input type="checkbox" name="ids" value="{anomaly.pk}" form="bulk" '
        f'class="row-select" aria-label="Select #{anomaly.pk}"></td>'
        f'<td><a href="{href}">#{anomaly.pk}</a></td>'
        f'<td><span class="badge status-{status.lower()}">{status}</span></td>'
        f"<td>{escape(TYPE_LABELS.get(anomaly.anomaly_type, anomaly.anomaly_type))}</td>"
        f'<td class="num"><span class="weight">{anomaly.weight}</span></td>'
        f'<td class="desc"><a href="{href}">{escape(text)}</a></td>'
        f'<td class="tickets">{notes}</td>'
        f'<td class="muted">{escape(anomaly.datastore.name)} › '
        f"{escape(anomaly.container.name)}</td>"
        f'<td class="nowrap" title="{detected:%Y-%m-%d %H:%M} UTC">'
        f"{detected:%b} {detected.day}, {detected.year}</td></tr>"
    )


@login_required
def anomaly_list(request):
    datastores = list(visible_datastores(request.user))
    form = AnomalyFilterForm(request.GET or None, datastores=datastores)
    visible = Anomaly.objects.visible_among(request.user, datastores)
    filtered = filter_anomalies(visible, form, user=request.user)
    searched = bool(form.cleaned_or_default("q", ""))
    counts = count_by_status(filtered, sampled=searched)

    status_filter = form.cleaned_or_default("status", DEFAULT_STATUS_FILTER)
    sort = form.cleaned_or_default("sort", DEFAULT_SORT)
    size = form.cleaned_or_default("size", DEFAULT_PAGE_SIZE)
    listed = total(counts, listed_statuses(form))
    page = keyset_page(listed_rows(filtered, form), SORTS[sort], request.GET, size, listed)
    rows_html = _rows_html(page.object_list, reverse("anomalies:list"))
    return render(
        request,
        "anomalies/anomaly_list.html",
        {
            "form": form,
            "page": page,
            "counts": counts,
            "count_cap": listing.COUNT_CAP,
            "tabs": _status_tabs(request, counts),
            "status_filter": status_filter,
            "sort": sort,
            "headers": _column_headers(request, sort),
            "page_size": size,
            "page_sizes": PAGE_SIZES,
            "narrowed": form.narrows(DEFAULT_STATUS_FILTER),
            # One reversal for the page; each row appends its id.
            "rows_html": rows_html,
            "list_footers": render_list_footers(page.object_list),
            "bulk_runs": remembered_runs(request.session),
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
            "timeline": activity_timeline(request, access),
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
