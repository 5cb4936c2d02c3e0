"""The list's bulk-action bar: parse the selection, call anomalies.bulk, report the summary."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .bulk import (
    BULK_LIMIT,
    BulkRefused,
    BulkResult,
    bulk_actions,
    run_bulk_action,
    validated_options,
)
from .bulk import select_anomalies as select_by_ids
from .bulk_runs import (
    forget_run,
    remember_run,
    run_result,
    run_title,
    runs_in_background,
    runs_of,
    start_bulk_run,
)
from .filters import filter_anomalies
from .forms import AnomalyFilterForm, BulkSelectionForm
from .models import Anomaly, BulkRun, BulkRunState, User
from .permissions import visible_datastores
from .validation import parse_id


def matching_ids(user: User, filters: QueryDict) -> list[int]:
    """The ids of every anomaly the list shows for these filters (all pages), at most
    BULK_LIMIT + 1 of them, so that too many is known without counting them all."""
    from .views import listed_statuses  # the list's own status groups

    form = AnomalyFilterForm(filters, datastores=list(visible_datastores(user)))
    filtered = filter_anomalies(Anomaly.objects.visible_to(user), form, user=user)
    rows = filtered.filter(status__in=listed_statuses(form)).order_by("pk")
    return list(rows.values_list("pk", flat=True)[: BULK_LIMIT + 1])


def perform_bulk(
    user: User, data: QueryDict | dict, ids: list, *, back: str = ""
) -> BulkResult | BulkRun:
    """One bulk request, from the page or the API: its result, or the run a worker carries
    out when the selection is too large to answer at once (anomalies.bulk_runs). Raises
    BulkRefused. ``back``: the list's filters, for the run's page to link back to."""
    selection = BulkSelectionForm(data)
    if not selection.is_valid():
        raise BulkRefused("Choose an action and what to apply it to.")
    action = bulk_actions().get(selection.cleaned_data["action"])
    if action is None:
        raise BulkRefused("Unknown bulk action.")
    options = validated_options(action, data)
    if selection.cleaned_data["scope"] == "all":
        ids = matching_ids(user, QueryDict(selection.cleaned_data["filters"]))
        if len(ids) > BULK_LIMIT:
            raise BulkRefused(
                f"More than {BULK_LIMIT:,} anomalies match; at most {BULK_LIMIT:,} at once. "
                "Narrow the filters and repeat."
            )
    else:
        ids = [parse_id(str(value)) for value in ids]
        if None in ids:
            raise BulkRefused("The selection holds something that is not an anomaly id.")
    if runs_in_background(action, ids):
        return start_bulk_run(user, action, data, ids, back)
    anomalies, missing = select_by_ids(Anomaly.objects.visible_to(user), ids)
    return run_bulk_action(action, anomalies, by=user, missing=missing, **options)


@login_required
@require_POST
def bulk_action(request: HttpRequest):
    filters = request.POST.get("filters", "")[:2000]
    back = reverse("anomalies:list") + "?" + filters
    try:
        result = perform_bulk(request.user, request.POST, request.POST.getlist("ids"), back=filters)
    except BulkRefused as refused:
        messages.error(request, str(refused))
    else:
        if isinstance(result, BulkRun):
            remember_run(request.session, result, run_title(result))
            return redirect("anomalies:bulk_run", run_id=result.pk)
        (messages.success if result.done else messages.warning)(request, result.summary() + ".")
    return redirect(back)


@login_required
@require_GET
def bulk_run_page(request: HttpRequest, run_id: int):
    run = _own_run(request, run_id)
    context = _run_context(run)
    if context["finished"]:
        forget_run(request.session, run.pk)
    return render(request, "anomalies/bulk_run.html", context)


@login_required
@require_GET
def bulk_run_progress(request: HttpRequest, run_id: int):
    """The page's progress region, which htmx asks for every second until the run is done."""
    run = _own_run(request, run_id)
    return render(request, "anomalies/_bulk_run_progress.html", _run_context(run))


def _own_run(request: HttpRequest, run_id: int) -> BulkRun:
    # Another user's run is not found (404), as another team's anomaly is.
    return get_object_or_404(runs_of(request.user), pk=run_id)


def _run_context(run: BulkRun) -> dict:
    result = run_result(run)
    total = len(run.anomaly_ids)
    return {
        "run": run,
        "verb": result.verb,
        "title": run_title(run),
        "total": total,
        "processed": result.processed,
        "percent": round(100 * result.processed / total) if total else 100,
        "finished": run.state == BulkRunState.DONE,
        "summary": run.refused or result.summary(),
        "tone": "error" if run.refused else ("success" if result.done else "warning"),
        "back_url": reverse("anomalies:list") + ("?" + run.back if run.back else ""),
    }
