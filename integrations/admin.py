from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html

from anomalies.admin import ViewOnlyAdminMixin

from .models import (
    SyncEvent,
    SyncQueue,
    SyncState,
    TicketingIntegration,
    TicketLink,
    WebhookDelivery,
)
from .services import retry_sync_event


@admin.register(TicketingIntegration)
class TicketingIntegrationAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """Read-only here: connecting and editing go through Settings › Integrations, which
    validate against Jira first. The credentials and the webhook secret are never shown, not
    even encrypted."""

    list_display = ("__str__", "state", "default_project_key", "connected_at", "attention_reason")
    list_filter = ("state", "connector")
    exclude = ("credentials", "webhook_secret")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(TicketLink)
class TicketLinkAdmin(admin.ModelAdmin):
    list_display = (
        "issue_key",
        "anomaly",
        "status_name",
        "status_category",
        "last_synced_at",
        "broken_reason",
        "removed_at",
    )
    list_filter = ("status_category", "origin", "integration")
    list_select_related = ("anomaly",)
    search_fields = ("issue_key", "summary", "=anomaly__id")
    raw_id_fields = ("anomaly",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = [field.name for field in TicketLink._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.action(description="Retry the selected failed events")
def retry_failed(modeladmin, request, queryset) -> None:
    failed = list(queryset.filter(state=SyncState.FAILED))
    for event in failed:
        retry_sync_event(event)
    modeladmin.message_user(
        request, f"{len(failed)} failed event(s) queued again.", messages.SUCCESS
    )


@admin.register(SyncEvent)
class SyncEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "issue",
        "kind",
        "state",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "problem",
    )
    list_filter = ("state", "kind", "outcome_unknown")
    list_select_related = ("link",)
    # "=1:10042" lists one Jira issue's queue (docs/sync.md), across its anomalies.
    search_fields = ("link__issue_key", "=remote_issue", "body", "last_error", "finished_reason")
    date_hierarchy = "created_at"
    actions = [retry_failed]
    readonly_fields = [field.name for field in SyncEvent._meta.fields]
    show_full_result_count = False

    @admin.display(description="issue", ordering="link__issue_key")
    def issue(self, event: SyncEvent) -> str:
        return format_html(
            '<a href="{}" target="_blank">{}</a>', event.link.url, event.link.issue_key
        )

    @admin.display(description="problem")
    def problem(self, event: SyncEvent) -> str:
        return event.finished_reason or event.last_error

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SyncQueue)
class SyncQueueAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """One Jira issue's delivery queue and its 403 state (docs/sync.md, "403 blast radius")."""

    list_display = ("remote_issue", "forbidden_count", "forbidden_project", "forbidden_at")
    search_fields = ("=remote_issue", "forbidden_project")
    readonly_fields = [field.name for field in SyncQueue._meta.fields]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """What Jira's webhook delivered (authenticated deliveries only), for operators."""

    list_display = ("received_at", "event", "issue_key", "outcome", "identifier")
    list_filter = ("outcome", "event")
    search_fields = ("issue_key", "=identifier")
    date_hierarchy = "received_at"
