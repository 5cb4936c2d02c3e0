"""Assigning people to one anomaly from its page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from . import services
from .forms import AssigneeForm
from .permissions import Action, get_anomaly_access


def _change(request, anomaly_id: int, change, done: str):
    access = get_anomaly_access(request.user, anomaly_id, Action.CHANGE_STATUS)
    form = AssigneeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["assignee"][0])
    else:
        assignee = form.cleaned_data["assignee"]
        try:
            change(access.anomaly, by=request.user, assignee=assignee)
        except services.AssignmentRejected as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, done.format(assignee))
    return redirect("anomalies:detail", anomaly_id=anomaly_id)


@login_required
@require_POST
def assign(request, anomaly_id: int):
    return _change(request, anomaly_id, services.assign_anomaly, "Assigned to {}.")


@login_required
@require_POST
def unassign(request, anomaly_id: int):
    return _change(request, anomaly_id, services.unassign_anomaly, "Unassigned {}.")
