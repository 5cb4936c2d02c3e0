"""Celery tasks: take ids, call one service, own the retry policy. Never take secrets."""

from collections import Counter

from celery import shared_task

from . import metrics, services
from .models import SyncEvent, TicketingIntegration
from .services import alerts, health, webhooks


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_sync_event(event_id: int, batch: int = 1, rounds: int = 1) -> str:
    # The event and the due events behind it on its ticket, `batch` at a time for up to
    # `rounds` batches (the product publishes DELIVERY_BATCH and DELIVERY_ROUNDS; a message
    # without them delivers one event). Retries are scheduled by the service itself (it
    # knows Retry-After and the horizon); a task that dies mid-send is recovered by the
    # sweeper, which marks the outcome unknown.
    outcomes = services.deliver_sync_events(event_id, limit=batch, rounds=rounds)
    for outcome in outcomes:
        metrics.count_delivery_attempt(outcome)
    if len(outcomes) == 1:
        return outcomes[0]
    return ", ".join(f"{count} {outcome}" for outcome, count in Counter(outcomes).items())


@shared_task(ignore_result=True)
def sweep_sync_events() -> dict:
    health.stamp_worker_heartbeat()
    return services.sweep_sync_events()


@shared_task(ignore_result=True)
def refresh_ticket_statuses(link_ids: list[int] | None = None) -> int:
    return services.refresh_ticket_statuses(link_ids)


@shared_task(ignore_result=True)
def prune_webhook_deliveries() -> int:
    return webhooks.prune_webhook_deliveries()


@shared_task(ignore_result=True)
def check_sync_alerts() -> dict:
    return alerts.check_sync_alerts()


@shared_task(ignore_result=True)
def alert_event_failed(event_id: int) -> list[bool]:
    event = SyncEvent.objects.select_related("link__anomaly").filter(pk=event_id).first()
    return alerts.alert_event_failed(event) if event else []


@shared_task(ignore_result=True)
def alert_integration_paused(integration_id: int) -> bool:
    integration = TicketingIntegration.objects.filter(pk=integration_id).first()
    return alerts.alert_integration_paused(integration) if integration else False
