"""The ticketing side of the JSON API, under /api/ (PRODUCT.md §6). No trailing slashes."""

from django.urls import path

from . import api

app_name = "integrations_api"

urlpatterns = [
    path("anomalies/<int:anomaly_id>/ticket-links", api.ticket_links, name="ticket_links"),
    path(
        "anomalies/<int:anomaly_id>/ticket-links/<int:link_id>",
        api.ticket_link,
        name="ticket_link",
    ),
    path("integrations/ticketing", api.integration, name="integration"),
    path("integrations/ticketing/test", api.test_connection, name="test"),
    path(
        "anomalies/<int:anomaly_id>/sync-events",
        api.anomaly_sync_events,
        name="anomaly_sync_events",
    ),
    path("sync-events/<int:event_id>/retry", api.retry_sync_event, name="retry_event"),
    path(
        "integrations/ticketing/anomalies/<int:anomaly_id>/tickets",
        api.create_ticket,
        name="create_ticket",
    ),
    path("integrations/ticketing/tickets/search", api.search_tickets, name="search"),
    path(
        "integrations/ticketing/form-specification",
        api.form_specification,
        name="form_specification",
    ),
]
