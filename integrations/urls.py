from django.urls import path

from . import views

app_name = "integrations"

urlpatterns = [
    path("settings/integrations/", views.integration_list, name="list"),
    path("settings/integrations/jira/connect/", views.connect_jira, name="connect"),
    path("settings/integrations/<int:pk>/edit/", views.edit_integration, name="edit"),
    path("settings/integrations/<int:pk>/test/", views.test_connection, name="test"),
    path("settings/integrations/<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path(
        "settings/integrations/<int:pk>/send-missed/",
        views.send_missed_comments,
        name="send_missed",
    ),
    path(
        "settings/integrations/<int:pk>/webhook/set-up/",
        views.set_up_webhook,
        name="webhook_set_up",
    ),
    path(
        "settings/integrations/<int:pk>/webhook/replace/",
        views.replace_webhook_secret,
        name="webhook_replace",
    ),
    path(
        "settings/integrations/<int:pk>/webhook/turn-off/",
        views.turn_off_webhook,
        name="webhook_turn_off",
    ),
    path("settings/sync-health/", views.sync_health_page, name="health"),
    # Load balancers and Prometheus: no session (integrations/views/operations.py).
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    # Jira posts here (no login, no CSRF): the URL shown once by "Set up webhook".
    path("integrations/jira/webhook/<int:pk>", views.jira_webhook, name="jira_webhook"),
    path("anomalies/<int:anomaly_id>/tickets/new/", views.create_ticket, name="create"),
    path("anomalies/<int:anomaly_id>/tickets/link/", views.link_ticket, name="link"),
    path("anomalies/<int:anomaly_id>/tickets/search/", views.search_tickets, name="search"),
    path("anomalies/<int:anomaly_id>/tickets/refresh/", views.refresh_tickets, name="refresh"),
    path(
        "anomalies/<int:anomaly_id>/tickets/send-missed/",
        views.send_anomaly_missed_comments,
        name="send_missed_for_anomaly",
    ),
    path("ticket-links/<int:link_id>/remove/", views.remove_link, name="remove_link"),
    path("sync-events/<int:event_id>/retry/", views.retry_event, name="retry_event"),
]
