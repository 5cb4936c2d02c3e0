"""The list's bulk-action bar: parse the selection, call anomalies.bulk, report the summary."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .bulk import BULK_LIMIT, BulkRefused, BulkResult, bulk_actions, run_bulk_action
from .bulk import select_anomalies as select_by_ids
from .filters import filter_anomalies
from .forms import AnomalyFilterForm, BulkSelectionForm
from .models import Anomaly, User
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


def perform_bulk(user: User, data: QueryDict | dict, ids: list) -> BulkResult:
    """One bulk request, from the page or the API. Raises BulkRefused."""
    selection = BulkSelectionForm(data)
    if not selection.is_valid():
        raise BulkRefused("Choose an action and what to apply it to.")
    action = bulk_actions().get(selection.cleaned_data["action"])
    if action is None:
        raise BulkRefused("Unknown bulk action.")
    options = _options(action, data)
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
    anomalies, missing = select_by_ids(Anomaly.objects.visible_to(user), ids)
    return run_bulk_action(action, anomalies, by=user, missing=missing, **options)


def _options(action, data) -> dict:
    if action.options_form is None:
        return {}
    form = action.options_form(data)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        raise BulkRefused(f"{action.label}: {first}")
    return form.cleaned_data


@login_required
@require_POST
def bulk_action(request: HttpRequest):
    back = reverse("anomalies:list") + "?" + request.POST.get("filters", "")[:2000]
    try:
        result = perform_bulk(request.user, request.POST, request.POST.getlist("ids"))
    except BulkRefused as refused:
        messages.error(request, str(refused))
    else:
        (messages.success if result.done else messages.warning)(request, result.summary() + ".")
    return redirect(back)
