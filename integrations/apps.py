from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Ticketing integrations"

    def ready(self) -> None:
        """Plug into the platform's seams: the anomaly page and API, and anomaly changes."""
        from anomalies.api import register_detail_field
        from anomalies.bulk import register_batch_hook
        from anomalies.sections import (
            register_detail_section,
            register_list_footer,
            register_row_annotator,
            register_timeline_folder,
        )
        from anomalies.signals import anomaly_changed

        from . import bulk, filters, row_tickets, sections, tasks, timeline  # noqa: F401 (tasks: registers the tasks services hand over by name)
        from .api.tickets import links_json
        from .broker import load_publishing_transport
        from .services.batching import deferred_deliveries
        from .services.clients import validate_host_policy_setting

        register_detail_section(sections.render_linked_tickets)
        register_row_annotator(row_tickets.ticket_cells_by_anomaly)
        register_list_footer(row_tickets.ticket_poller)
        register_timeline_folder(timeline.folded_outcomes, replaces_actions=timeline.FOLDED_ACTIONS)
        register_detail_field("ticket_links", links_json)
        filters.register()
        bulk.register()
        register_batch_hook(deferred_deliveries)
        anomaly_changed.connect(_queue_sync_events, dispatch_uid="integrations.queue_sync")
        anomaly_changed.connect(_hold_missed_events, dispatch_uid="integrations.hold_missed")
        validate_host_policy_setting()
        load_publishing_transport()


def _reaches_tickets(change) -> bool:
    """An ingestion reaches no ticket (a new anomaly has no links); any other kind is a
    ticket change, parsed (and refused when unknown) by the services."""
    return change.kind != "ingested"


def _queue_sync_events(sender, change, **kwargs) -> None:
    from .services import queue_sync_events

    if _reaches_tickets(change):
        queue_sync_events(change)


def _hold_missed_events(sender, change, **kwargs) -> None:
    from .services.reconnect import hold_missed_events

    if _reaches_tickets(change):
        hold_missed_events(change)
