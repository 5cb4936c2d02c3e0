from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("settings/integrations/", views.integration_list, name="list"),
    path("settings/integrations/jira/connect/", views.connect_jira, name="connect"),
    path("settings/integrations/<int:pk>/edit/", views.edit_integration, name="edit"),
    path("settings/integrations/<int:pk>/test/", views.test_connection, name="test"),
    path("settings/integrations/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("settings/sync-health/", views.sync_health_page, name="health"),
    path("anomalies/<int:anomaly_id>/tickets/new/", views.create_ticket, name="create"),
    path("anomalies/<int:anomaly_id>/tickets/link/", views.link_ticket, name="link"),
    path("anomalies/<int:anomaly_id>/tickets/search/", views.search_tickets, name="search"),
    path("anomalies/<int:anomaly_id>/tickets/refresh/", views.refresh_tickets, name="refresh"),
    path("ticket-links/<int:link_id>/remove/", views.remove_link, name="remove_link"),
    path("sync-events/<int:event_id>/retry/", views.retry_event, name="retry_event"),
]
