from django.urls import include, path

from . import bulk, row_tickets, views
from .connectors import CONNECTORS, get_connector

app_name = "integrations"

# A connector's own pages (Jira: its webhook), named in the registry, never imported here.
connector_urls = [
    path("", include(urls)) for urls in (get_connector(kind).urls for kind in CONNECTORS) if urls
]

urlpatterns = [
    path("settings/integrations/", views.integration_list, name="list"),
    path("settings/integrations/connect/", views.connect_integration, name="connect"),
    # The same page with one connector chosen (Settings' "Connect Jira" button).
    path(
        "settings/integrations/<slug:kind>/connect/",
        views.connect_integration,
        name="connect_to",
    ),
    path("settings/integrations/<int:pk>/edit/", views.edit_integration, name="edit"),
    path("settings/integrations/<int:pk>/test/", views.test_connection, name="test"),
    path("settings/integrations/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path(
        "settings/integrations/<int:pk>/send-missed/",
        views.send_missed_comments,
        name="send_missed",
    ),
    path("settings/sync-health/", views.sync_health_page, name="health"),
    # Load balancers and Prometheus: no session (integrations/views/operations.py).
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    # The anomaly list's live ticket chips (htmx polls the rows still syncing).
    path("anomalies/ticket-chips/", row_tickets.row_tickets, name="row_tickets"),
    # The bulk bar's "Create one ticket" choices (htmx, when the action is chosen).
    path("anomalies/bulk/create-fields/", bulk.bulk_create_fields, name="bulk_create_fields"),
    path("anomalies/<int:anomaly_id>/tickets/new/", views.create_ticket, name="create"),
    path("anomalies/<int:anomaly_id>/tickets/link/", views.link_ticket, name="link"),
    path("anomalies/<int:anomaly_id>/tickets/search/", views.search_tickets, name="search"),
    # Typeaheads (htmx-era fragments): people for the create form, tickets for the link form.
    path(
        "anomalies/<int:anomaly_id>/tickets/new/choices/",
        views.create_choices,
        name="create_choices",
    ),
    path("anomalies/<int:anomaly_id>/tickets/suggest/", views.suggest_tickets, name="suggest"),
    path("anomalies/<int:anomaly_id>/tickets/refresh/", views.refresh_tickets, name="refresh"),
    path(
        "anomalies/<int:anomaly_id>/tickets/live/",
        views.linked_tickets_live,
        name="linked_tickets_live",
    ),
    path(
        "anomalies/<int:anomaly_id>/tickets/send-missed/",
        views.send_anomaly_missed_comments,
        name="send_missed_for_anomaly",
    ),
    path("ticket-links/<int:link_id>/remove/", views.remove_link, name="remove_link"),
    path("sync-events/<int:event_id>/retry/", views.retry_event, name="retry_event"),
    *connector_urls,
]
