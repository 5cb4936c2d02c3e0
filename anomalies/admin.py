from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import (
    Anomaly,
    ApiToken,
    Comment,
    Container,
    Datastore,
    DatastorePermission,
    FailedCheck,
    HistoryEntry,
    Tag,
    Team,
    User,
)
from .permissions import rows_on_visible_anomalies, rows_on_visible_datastores


class ViewOnlyAdminMixin:
    """For records the admin may show but never add, change or delete."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class VisibleRowsAdminMixin:
    """Non-Admins see only the rows on datastores their teams can see: the rule of the app's
    pages (`permissions.py`), so a row hidden there is hidden here too, in the list, on its
    change page by id (the admin answers "doesn't exist"), in popups, autocomplete and
    actions. Subclasses say how a row reaches its datastore in `visible_rows`."""

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows if request.user.is_admin else self.visible_rows(rows, request.user)

    def visible_rows(self, rows, user: User):
        raise NotImplementedError


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "teams")
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:2],
        ("Role", {"fields": ("role", "is_active")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),
    )


class DatastorePermissionInline(VisibleRowsAdminMixin, admin.TabularInline):
    model = DatastorePermission
    extra = 0
    autocomplete_fields = ("datastore",)

    def visible_rows(self, rows, user: User):
        return rows_on_visible_datastores(rows, user)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "is_public", "member_count")
    search_fields = ("name",)
    filter_horizontal = ("members",)
    inlines = [DatastorePermissionInline]

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return team.members.count()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_public:
            return False
        return super().has_delete_permission(request, obj)


class ContainerInline(admin.TabularInline):
    model = Container
    extra = 0


@admin.register(Datastore)
class DatastoreAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    list_display = ("name", "connection_type")
    search_fields = ("name",)
    inlines = [ContainerInline]

    def visible_rows(self, rows, user: User):
        return rows_on_visible_datastores(rows, user, via="pk")


@admin.register(Container)
class ContainerAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    list_display = ("name", "datastore", "container_type")
    list_filter = (("datastore", admin.RelatedOnlyFieldListFilter), "container_type")
    list_select_related = ("datastore",)
    search_fields = ("name",)

    def visible_rows(self, rows, user: User):
        return rows_on_visible_datastores(rows, user)


@admin.register(DatastorePermission)
class DatastorePermissionAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    """Who may do what: only Admins grant levels (auth.RoleBackend); Managers read the
    levels on the datastores they can see."""

    list_display = ("team", "datastore", "level")
    list_filter = (
        "level",
        ("datastore", admin.RelatedOnlyFieldListFilter),
        ("team", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("team", "datastore")

    def visible_rows(self, rows, user: User):
        return rows_on_visible_datastores(rows, user)


@admin.register(Tag)
class TagAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    search_fields = ("name",)

    def visible_rows(self, rows, user: User):
        return rows_on_visible_anomalies(rows, user, via="anomalies").distinct()


class FailedCheckInline(admin.TabularInline):
    model = FailedCheck
    extra = 0


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class HistoryInline(ReadOnlyInline):
    model = HistoryEntry
    fields = ("created_at", "actor", "action", "summary")
    readonly_fields = fields


@admin.register(Anomaly)
class AnomalyAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "anomaly_type",
        "weight",
        "datastore",
        "container",
        "detected_at",
    )
    list_filter = ("status", "anomaly_type", ("datastore", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("datastore", "container")
    search_fields = ("=id", "uuid", "description", "fingerprint")
    date_hierarchy = "detected_at"
    raw_id_fields = ("container",)
    filter_horizontal = ("assignees", "tags")
    readonly_fields = ("uuid", "status", "status_changed_at", "created_at")
    inlines = [FailedCheckInline, HistoryInline]
    show_full_result_count = False

    def visible_rows(self, rows, user: User):
        return rows.visible_to(user)


@admin.register(Comment)
class CommentAdmin(VisibleRowsAdminMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    """Comments were sent on to Jira and belong to the anomaly's history: readable, never
    edited or deleted here, not even by Admins."""

    list_display = ("anomaly", "author", "created_at")
    list_select_related = ("anomaly", "author")
    search_fields = ("text",)
    fields = ("anomaly", "author", "created_at", "text")

    def visible_rows(self, rows, user: User):
        return rows_on_visible_anomalies(rows, user)


@admin.register(HistoryEntry)
class HistoryEntryAdmin(VisibleRowsAdminMixin, ViewOnlyAdminMixin, admin.ModelAdmin):
    """History is evidence: readable by Managers and Admins, never edited."""

    list_display = ("created_at", "anomaly", "actor", "action", "summary")
    list_filter = ("action",)
    list_select_related = ("anomaly", "actor")
    search_fields = ("summary", "=anomaly__id")

    def visible_rows(self, rows, user: User):
        return rows_on_visible_anomalies(rows, user)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `manage.py create_api_token`, the only place that shows a key;
    here they can be looked at and revoked. Only Admins see other users' tokens."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__username")
    fields = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        tokens = super().get_queryset(request)
        return tokens if request.user.is_admin else tokens.filter(user=request.user)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        for token in queryset:
            token.revoke()
        self.message_user(request, f"Revoked {len(queryset)} token(s).")
