"""Settings › Integrations: connect, test, edit and disconnect (Managers and Admins)."""

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import services
from ..access import manager_required
from ..forms import ConnectForm, EditForm
from ..models import Connector, CredentialsUnreadable, SyncState, TicketingIntegration
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
            "connectors": Connector,
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
def connect_jira(request):
    existing = services.connected_integration()
    if existing:
        messages.error(request, str(services.AlreadyConnected(existing)))
        return redirect("integrations:list")
    form = ConnectForm(request.POST or None)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        report = services.check_connection(
            data["host_url"], data["credentials"], data["default_project_key"]
        )
        if report.ok:
            return _store_connection(request, form, report)
        form.add_error(None, report.failure_text(refused=True))
    return render(request, "integrations/connect.html", {"form": form, "report": report})


def _store_connection(request, form, report):
    data = form.cleaned_data
    try:
        connected = services.connect_integration(
            host_url=data["host_url"],
            credentials=data["credentials"],
            default_project_key=data["default_project_key"],
            report=report,
            by=request.user,
            reattach_links=data["reattach_links"],
        )
    except services.AlreadyConnected as error:
        messages.error(request, str(error))
        return redirect("integrations:list")
    messages.success(request, "The integration has been successfully created.")
    _say_what_was_reattached(request, connected.reattached_link_count)
    return redirect("integrations:list")


def _say_what_was_reattached(request, count: int) -> None:
    if not count:
        return
    missed = reconnect.missed_events().count()
    note = (
        f" {missed} comment{pluralize(missed)} owed while it was disconnected "
        f"{'was' if missed == 1 else 'were'} not sent: send {'it' if missed == 1 else 'them'} "
        "from the anomalies or with “Send missed comments” below."
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
    _connected_or_404(pk)
    sent = reconnect.send_missed_events(by=request.user)
    messages.success(request, f"Sending {sent} missed comment{pluralize(sent)} to Jira.")
    return redirect("integrations:list")


@manager_required
def edit_integration(request, pk: int):
    integration = _connected_or_404(pk)
    initial = {"default_project_key": integration.default_project_key}
    form = EditForm(request.POST or None, initial=initial)
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
    credentials = services.Credentials(*integration.credential_pair())
    report = services.check_connection(
        integration.host_url, credentials, integration.default_project_key
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
        plural = "comment was" if cancelled == 1 else "comments were"
        note = f" {cancelled} pending Jira {plural} cancelled." if cancelled else ""
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


# --- the Jira webhook panel ---------------------------------------------------------------


def _jira_or_404(pk: int) -> TicketingIntegration:
    return get_object_or_404(
        TicketingIntegration.objects.connected(), pk=pk, connector=Connector.JIRA
    )


@manager_required
@require_POST
@never_cache
def set_up_webhook(request, pk: int):
    integration = _jira_or_404(pk)
    if integration.has_webhook:
        messages.info(
            request, "The Jira webhook is already set up. Replace its secret to see a new one."
        )
        return redirect("integrations:list")
    return _show_new_webhook_secret(request, integration, replaced=False)


@manager_required
@require_POST
@never_cache
def replace_webhook_secret(request, pk: int):
    integration = _jira_or_404(pk)
    if not integration.has_webhook:
        messages.error(request, "The Jira webhook is not set up.")
        return redirect("integrations:list")
    return _show_new_webhook_secret(request, integration, replaced=True)


def _show_new_webhook_secret(request, integration: TicketingIntegration, *, replaced: bool):
    """The only page that ever shows the secret: answered to the POST, never stored in the
    session or a message, so reloading Settings cannot show it again."""
    secret = webhooks.set_webhook_secret(integration, by=request.user)
    context = {
        "integration": integration,
        "webhook_url": webhooks.webhook_url(integration),
        "secret": secret,
        "replaced": replaced,
    }
    return render(request, "integrations/webhook_secret.html", context)


@manager_required
@require_POST
def turn_off_webhook(request, pk: int):
    integration = _jira_or_404(pk)
    webhooks.turn_off_webhook(integration, by=request.user)
    messages.success(
        request,
        "The Jira webhook is turned off: deliveries are now refused. Delete it in Jira too "
        "(System › WebHooks).",
    )
    return redirect("integrations:list")
