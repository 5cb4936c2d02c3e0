"""The endpoint Jira posts webhook deliveries to. No login and no CSRF token: a delivery is
authenticated by its HMAC signature (see services/webhooks.py)."""

from http import HTTPStatus

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import Connector, TicketingIntegration
from ..services import webhooks


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    integration = get_object_or_404(
        TicketingIntegration.objects.connected(), pk=pk, connector=Connector.JIRA
    )
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
