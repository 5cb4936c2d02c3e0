from django.urls import path

from . import views

app_name = "rules"

urlpatterns = [
    path("settings/rules/", views.rule_list, name="list"),
    path("settings/rules/new/", views.new_rule, name="new"),
    path("settings/rules/<int:pk>/edit/", views.edit_rule, name="edit"),
    path("settings/rules/<int:pk>/dry-run/", views.dry_run, name="dry_run"),
    path("settings/rules/<int:pk>/pause/", views.toggle_paused, name="toggle_paused"),
]
