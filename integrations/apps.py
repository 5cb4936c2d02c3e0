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
        from qualytics_jira.broker import load_publishing_transport

        from . import bulk, filters, row_tickets, sections, tasks, timeline  # noqa: F401 (tasks: registers the tasks services hand over by name)
        from .api.tickets import links_json
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
        anomaly_changed.connect(_reach_linked_tickets, dispatch_uid="integrations.queue_sync")
        validate_host_policy_setting()
        load_publishing_transport()


def _reaches_tickets(change) -> bool:
    """An ingestion reaches no ticket (a new anomaly has no links); any other kind is a
    ticket change, parsed (and refused when unknown) by the services."""
    return change.kind != "ingested"


def _reach_linked_tickets(sender, change, **kwargs) -> None:
    """Queue the change's comment for the links of the connected site, and hold it (as a
    missed event) for links of a disconnected one. The links are read once for both: a bulk
    action runs this once per anomaly."""
    from django.db.models import F

    from .models import IntegrationState, TicketLink
    from .services import queue_sync_events
    from .services.reconnect import hold_missed_events

    if not _reaches_tickets(change):
        return
    links = list(
        TicketLink.objects.current()
        .filter(
            anomaly=change.anomaly,
            integration__state__in=(IntegrationState.CONNECTED, IntegrationState.DISCONNECTED),
        )
        .annotate(site_state=F("integration__state"))  # not the row: it holds credentials
    )
    by_state = {state: [] for state in (IntegrationState.CONNECTED, IntegrationState.DISCONNECTED)}
    for link in links:
        by_state[link.site_state].append(link)
    queue_sync_events(change, by_state[IntegrationState.CONNECTED])
    hold_missed_events(change, by_state[IntegrationState.DISCONNECTED])
