"""Webhook deliveries, whatever the connector that receives them: the latest one for
Settings, and forgetting those too old for the sender to retry."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..models import TicketingIntegration, WebhookDelivery

# Longer than any sender retries a delivery plus the clock skew accepted (integrations/jira/
# webhook.py): every body still accepted is one whose digest is still held.
DELIVERY_RETENTION = timedelta(days=7)


def last_webhook_delivery(integration: TicketingIntegration) -> WebhookDelivery | None:
    return integration.webhook_deliveries.order_by("-received_at", "-id").first()


def prune_webhook_deliveries() -> int:
    """Forget deliveries too old to be retried; returns how many were deleted."""
    cutoff = timezone.now() - DELIVERY_RETENTION
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
