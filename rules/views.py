"""Settings › Ticket rules (Managers and Admins): the ordered list with counters, the form
with a preview on a real anomaly, the dry run, pause and resume."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from anomalies.models import Anomaly
from anomalies.validation import parse_id
from integrations.access import manager_required
from integrations.services import connected_integration

from .forms import TicketRuleForm
from .matching import TemplateRefused
from .models import TicketRule
from .services import dry_run_rule, preview_rule
from .ticket_section import TicketFieldsSection


@manager_required
def rule_list(request):
    rules = TicketRule.objects.select_related("owner").prefetch_related("datastores")
    return render(request, "rules/rule_list.html", {"rules": rules})


@manager_required
def new_rule(request):
    return _rule_form(request, TicketRule(owner=request.user))


@manager_required
def edit_rule(request, pk: int):
    return _rule_form(request, get_object_or_404(TicketRule, pk=pk))


def _rule_form(request, rule: TicketRule):
    posted = request.POST if request.method == "POST" else None
    ticket = TicketFieldsSection(connected_integration(), rule, posted)
    form = TicketRuleForm(_with_ticket_fields(posted, ticket), instance=rule)
    form.fields["ticket_fields"].widget = forms.HiddenInput()  # chosen in the section below
    preview, preview_error = _preview(request, rule)
    saving = posted is not None and not {"preview", "refresh"} & set(posted)
    if saving and form.is_valid():
        saved = form.save(commit=False)
        saved.take_over(request.user)  # an orphaned rule becomes its editor's
        saved.save()
        form.save_m2m()
        messages.success(request, f"Rule “{saved.name}” saved.")
        return redirect("rules:list")
    context = {
        "form": form,
        "rule": rule,
        "ticket": ticket,
        "preview": preview,
        "preview_error": preview_error,
    }
    return render(request, "rules/rule_form.html", context)


def _with_ticket_fields(posted, ticket: TicketFieldsSection):
    """The submitted rule, its ticket_fields taken from the section's inputs."""
    if posted is None:
        return None
    data = posted.copy()
    chosen = ticket.chosen()
    if chosen is not None:
        data["ticket_fields"] = json.dumps(chosen)
    return data


def _preview(request, rule: TicketRule):
    """The saved rule's texts rendered with the anomaly whose id was given (?anomaly=)."""
    anomaly_id = parse_id(request.GET.get("anomaly", ""))
    if anomaly_id is None or rule.pk is None:
        return None, ""
    anomaly = Anomaly.objects.visible_to(request.user).filter(pk=anomaly_id).first()
    if anomaly is None:
        return None, f"No anomaly {anomaly_id} that you can see."
    try:
        return preview_rule(rule, anomaly), ""
    except TemplateRefused as error:
        return None, str(error)


@manager_required
def dry_run(request, pk: int):
    rule = get_object_or_404(TicketRule, pk=pk)
    return render(request, "rules/dry_run.html", {"rule": rule, "result": dry_run_rule(rule)})


@require_POST
@manager_required
def toggle_paused(request, pk: int):
    rule = get_object_or_404(TicketRule, pk=pk)
    rule.paused = not rule.paused
    taken = not rule.paused and rule.take_over(request.user)  # resuming an orphan: yours
    rule.save(update_fields=["paused", "owner"] if taken else ["paused"])
    messages.success(request, f"Rule “{rule.name}” {'paused' if rule.paused else 'resumed'}.")
    return redirect("rules:list")
