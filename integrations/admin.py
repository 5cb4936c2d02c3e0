from django.contrib import admin, messages
from django.db import models
from django.utils.html import format_html

from anomalies.admin import ViewOnlyAdminMixin, VisibleRowsAdminMixin
from anomalies.models import User
from anomalies.permissions import Action, datastores_at_level, rows_on_visible_anomalies

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
class TicketLinkAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
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

    def visible_rows(self, rows, user: User):
        return rows_on_visible_anomalies(rows, user)


@admin.action(description="Retry the selected failed events", permissions=["change"])
def retry_failed(modeladmin, request, queryset) -> None:
    """Like the anomaly page's Retry: only events on anomalies where the user is Author."""
    failed = list(queryset.filter(state=SyncState.FAILED).select_related("link__anomaly"))
    allowed = set(
        datastores_at_level(request.user, Action.LINK_TICKET.level).values_list("pk", flat=True)
    )
    retried = [event for event in failed if event.link.anomaly.datastore_id in allowed]
    for event in retried:
        retry_sync_event(event)
    modeladmin.message_user(
        request, f"{len(retried)} failed event(s) queued again.", messages.SUCCESS
    )
    refused = len(failed) - len(retried)
    if refused:
        modeladmin.message_user(
            request,
            f"{refused} event(s) left alone: retrying needs "
            f"{Action.LINK_TICKET.level.label} permission on the anomaly's datastore.",
            messages.WARNING,
        )


@admin.register(SyncEvent)
class SyncEventAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
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

    def visible_rows(self, rows, user: User):
        return rows_on_visible_anomalies(rows, user, via="link__anomaly")


@admin.register(SyncQueue)
class SyncQueueAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """One Jira issue's delivery queue and its 403 state (docs/sync.md, "403 blast radius")."""

    list_display = ("remote_issue", "forbidden_count", "forbidden_project", "forbidden_at")
    search_fields = ("=remote_issue", "forbidden_project")
    readonly_fields = [field.name for field in SyncQueue._meta.fields]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(VisibleRowsAdminMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    """What Jira's webhook delivered (authenticated deliveries only), for operators. A
    delivery about an issue linked only to anomalies the user cannot see is hidden; one
    about no linked issue is the integration's own business, which Managers run."""

    list_display = ("received_at", "event", "issue_key", "outcome", "identifier")
    list_filter = ("outcome", "event")
    search_fields = ("issue_key", "=identifier")
    date_hierarchy = "received_at"

    def visible_rows(self, rows, user: User):
        links = TicketLink.objects.all()
        visible_keys = rows_on_visible_anomalies(links, user).values("issue_key")
        hidden_keys = links.exclude(issue_key__in=visible_keys).values("issue_key")
        return rows.exclude(issue_key__in=hidden_keys)
