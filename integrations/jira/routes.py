"""Jira's own URLs, included under the ``integrations`` namespace through the registry
(``JiraConnector.urls``)."""

from django.urls import path

from . import views

urlpatterns = [
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
    # Jira posts here (no login, no CSRF): the URL shown once by "Set up webhook".
    path("integrations/jira/webhook/<int:pk>", views.jira_webhook, name="jira_webhook"),
]
