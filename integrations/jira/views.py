"""Jira's own pages: the endpoint Jira posts webhook deliveries to (no login and no CSRF
token: a delivery is authenticated by its HMAC signature, see webhook.py), and the webhook
panel's actions in Settings › Integrations (Managers and Admins)."""

from http import HTTPStatus

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..access import manager_required
from ..models import TicketingIntegration
from . import webhook as webhooks
from .connector import JiraConnector


def _jira_or_404(pk: int) -> TicketingIntegration:
    return get_object_or_404(
        TicketingIntegration.objects.connected(), pk=pk, connector=JiraConnector.kind
    )


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    integration = _jira_or_404(pk)
    if not integration.has_webhook:
        raise Http404("No Jira webhook is set up for this integration.")
    body = _body_within_cap(request)
    if body is None:
        return _refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The body is larger than 1 MiB.")
    try:
        outcome = webhooks.receive_webhook(
            integration,
            body=body,
            signature=request.headers.get("X-Hub-Signature"),
            identifier=request.headers.get("X-Atlassian-Webhook-Identifier"),
        )
    except webhooks.WebhookRefused as refusal:
        return _refusal(refusal.status, refusal.message)
    return JsonResponse({"outcome": outcome})


def _body_within_cap(request: HttpRequest) -> bytes | None:
    """The raw body (the signature covers its exact bytes), or None when it is too big;
    never reads more than the cap, whatever Content-Length claims."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > webhooks.MAX_BODY_BYTES:
        return None
    body = request.read(webhooks.MAX_BODY_BYTES + 1)
    return body if len(body) <= webhooks.MAX_BODY_BYTES else None


def _refusal(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


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
    return render(request, "integrations/jira/webhook_secret.html", context)


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
