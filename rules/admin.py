from django.contrib import admin

from .forms import TicketRuleForm
from .models import RuleAction, RuleGroup, TicketRule
from .services import dry_run_rule


class ManagersOnlyMixin:
    """Managers and Admins, whatever the platform's model permissions say (the role backend
    in anomalies/auth.py knows nothing of this app, and must not)."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.can_manage_integrations

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


@admin.register(TicketRule)
class TicketRuleAdmin(ManagersOnlyMixin, admin.ModelAdmin):
    form = TicketRuleForm
    list_display = (
        "name",
        "position",
        "paused",
        "trigger",
        "action",
        "continue_matching",
        "actions_count",
        "failures_count",
    )
    list_editable = ("position", "paused")
    filter_horizontal = ("datastores",)
    readonly_fields = (
        "owner_display",
        "ticket_connector",
        "ticket_scope",
        "dry_run",
        "actions_count",
        "failures_count",
    )
    actions = ["pause", "resume"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.owner = request.user
        obj.take_over(request.user)  # an orphaned rule (owner deleted) becomes its editor's
        super().save_model(request, obj, form, change)

    @admin.display(description="Owner")
    def owner_display(self, rule: TicketRule) -> str:
        return rule.owner_display

    @admin.display(description="Dry run")
    def dry_run(self, rule: TicketRule) -> str:
        return dry_run_rule(rule).summary() if rule.pk else "Save the rule first."

    @admin.action(description="Pause the selected rules", permissions=["change"])
    def pause(self, request, queryset) -> None:
        queryset.update(paused=True)

    @admin.action(description="Resume the selected rules", permissions=["change"])
    def resume(self, request, queryset) -> None:
        for orphan in queryset.filter(owner__isnull=True):  # an orphaned rule: yours
            orphan.take_over(request.user)
            orphan.save(update_fields=["owner"])
        queryset.update(paused=False)


@admin.register(RuleAction)
class RuleActionAdmin(ManagersOnlyMixin, admin.ModelAdmin):
    list_display = ("rule", "anomaly", "kind", "state", "issue_key", "attempts", "created_at")
    list_filter = ("state", "kind", "rule")
    raw_id_fields = ("anomaly", "group")
    readonly_fields = [field.name for field in RuleAction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RuleGroup)
class RuleGroupAdmin(ManagersOnlyMixin, admin.ModelAdmin):
    list_display = ("rule", "description", "creating", "link", "done_seen_at")
    readonly_fields = [field.name for field in RuleGroup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
