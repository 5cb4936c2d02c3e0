"""Settings › Integrations: connect, test, edit and disconnect (Managers and Admins)."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from .. import services
from ..access import manager_required
from ..connectors import CONNECTORS, get_connector
from ..forms import ConnectForm, EditForm
from ..models import CredentialsUnreadable, SyncState, TicketingIntegration
from ..services import reconnect, webhooks


@manager_required
def integration_list(request):
    connected = services.connected_integration()
    past = TicketingIntegration.objects.exclude(pk=getattr(connected, "pk", None)).order_by(
        "-connected_at"
    )[:10]
    return render(
        request,
        "integrations/integration_list.html",
        {
            "connected": connected,
            "past": past,
            "queue": _queue_counts(connected) if connected else None,
            "missed_count": reconnect.missed_events().count() if connected else 0,
            "last_webhook_delivery": (
                webhooks.last_webhook_delivery(connected) if connected else None
            ),
            "connectors": [get_connector(kind) for kind in CONNECTORS],
        },
    )


def _queue_counts(integration: TicketingIntegration) -> dict:
    return integration.links.aggregate(
        links=Count("id", filter=Q(removed_at__isnull=True), distinct=True),
        pending=Count("sync_events", filter=Q(sync_events__state=SyncState.PENDING)),
        failed=Count("sync_events", filter=Q(sync_events__state=SyncState.FAILED)),
    )


def _connected_or_404(pk: int) -> TicketingIntegration:
    return get_object_or_404(TicketingIntegration.objects.connected(), pk=pk)


@manager_required
def connect_integration(request, kind: str | None = None):
    """Connect any registered connector: chosen on the page, or by the URL."""
    if kind is not None and kind not in CONNECTORS:
        raise Http404("No such connector.")
    existing = services.connected_integration()
    if existing:
        messages.error(request, str(services.AlreadyConnected(existing)))
        return redirect("integrations:list")
    form = ConnectForm(request.POST or None, connector=kind or request.GET.get("connector"))
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        report = services.check_connection(
            data["host_url"], data["credentials"], data["default_project_key"], data["connector"]
        )
        if report.ok:
            return _store_connection(request, form, report)
        form.add_error(None, report.failure_text(refused=True))
    context = {"form": form, "report": report, "connector": form.connector_class}
    return render(request, "integrations/connect.html", context)


def _store_connection(request, form, report):
    data = form.cleaned_data
    try:
        connected = services.connect_integration(
            host_url=data["host_url"],
            credentials=data["credentials"],
            default_project_key=data["default_project_key"],
            report=report,
            by=request.user,
            connector=data["connector"],
            reattach_links=data["reattach_links"],
        )
    except services.AlreadyConnected as error:
        messages.error(request, str(error))
        return redirect("integrations:list")
    messages.success(request, "The integration has been successfully created.")
    _say_what_was_reattached(request, connected)
    return redirect("integrations:list")


def _say_what_was_reattached(request, connected: TicketingIntegration) -> None:
    count = connected.reattached_link_count
    if not count:
        return
    missed = reconnect.missed_events().count()
    noun = connected.connector_class.note_noun
    note = (
        f" {missed} {noun}{pluralize(missed)} owed while it was disconnected "
        f"{'was' if missed == 1 else 'were'} not sent: send {'it' if missed == 1 else 'them'} "
        f"from the anomalies or with “Send missed {noun}s” below."
        if missed
        else ""
    )
    messages.info(
        request,
        f"{count} link{pluralize(count)} from the earlier connection to this site "
        f"{'is' if count == 1 else 'are'} attached again: refreshing now, and syncing "
        f"again from now on.{note}",
    )


@manager_required
@require_POST
def send_missed_comments(request, pk: int):
    connector = _connected_or_404(pk).connector_class
    sent = reconnect.send_missed_events(by=request.user)
    messages.success(
        request,
        f"Sending {sent} missed {connector.note_noun}{pluralize(sent)} to {connector.name}.",
    )
    return redirect("integrations:list")


@manager_required
def edit_integration(request, pk: int):
    integration = _connected_or_404(pk)
    initial = {"default_project_key": integration.default_project_key}
    form = EditForm(request.POST or None, initial=initial, connector=integration.connector_class)
    report = None
    if request.method == "POST" and form.is_valid():
        report = _check_edit(integration, form)
        if report and report.ok:
            services.update_integration(
                integration,
                credentials=form.cleaned_data["credentials"],
                default_project_key=form.cleaned_data["default_project_key"],
                report=report,
            )
            messages.success(request, "The integration has been updated.")
            return redirect("integrations:list")
        if report:
            form.add_error(None, report.failure_text(refused=True))
    return render(
        request,
        "integrations/edit.html",
        {
            "form": form,
            "integration": integration,
            "report": report,
        },
    )


def _check_edit(integration: TicketingIntegration, form: EditForm):
    try:
        return services.check_edited_connection(
            integration, form.cleaned_data["credentials"], form.cleaned_data["default_project_key"]
        )
    except CredentialsUnreadable as error:
        form.add_error("credentials", str(error))
        return None


@manager_required
@require_POST
def test_connection(request, pk: int):
    integration = _connected_or_404(pk)
    if not integration.credentials_readable:
        messages.error(request, "Stored credentials cannot be read — re-enter them.")
        return redirect("integrations:edit", pk=pk)
    report = services.check_connection(
        integration.host_url,
        integration.credentials_value(),
        integration.default_project_key,
        integration.connector,
    )
    services.record_test(integration, report)
    if report.ok:
        messages.success(request, "Connection test passed.")
    else:
        messages.error(request, f"Connection test failed. {report.failure_text(refused=False)}")
    return redirect("integrations:list")


@manager_required
def disconnect(request, pk: int):
    integration = _connected_or_404(pk)
    if request.method == "POST":
        cancelled = services.disconnect_integration(integration, by=request.user)
        name, noun = integration.connector_class.name, integration.connector_class.note_noun
        plural = f"{noun} was" if cancelled == 1 else f"{noun}s were"
        note = f" {cancelled} pending {name} {plural} cancelled." if cancelled else ""
        messages.success(request, f"{integration} was disconnected.{note}")
        return redirect("integrations:list")
    return render(
        request,
        "integrations/disconnect.html",
        {
            "integration": integration,
            "queue": _queue_counts(integration),
        },
    )


@manager_required
def sync_health_page(request):
    from ..services.health import sync_health

    return render(request, "integrations/sync_health.html", {"health": sync_health()})
