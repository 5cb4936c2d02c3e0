"""The rules' part of the JSON API, under /api/. No trailing slashes."""

from django.urls import path

from . import api

app_name = "rules_api"

urlpatterns = [
    path("rules", api.rules, name="rules"),
    path("rules/<int:rule_id>", api.rule, name="rule"),
    path("rules/<int:rule_id>/dry-run", api.dry_run, name="dry_run"),
    path("rules/<int:rule_id>/preview", api.preview, name="preview"),
]
