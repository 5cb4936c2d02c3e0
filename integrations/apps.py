from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Ticketing integrations"

    def ready(self) -> None:
        from anomalies.sections import register_detail_section
        from anomalies.signals import anomaly_changed

        from . import sections, services

        register_detail_section(sections.render_linked_tickets)
        anomaly_changed.connect(_queue_sync_events, dispatch_uid="integrations.queue_sync")
        self._services = services


def _queue_sync_events(sender, change, **kwargs) -> None:
    from .services import queue_sync_events

    queue_sync_events(change)
