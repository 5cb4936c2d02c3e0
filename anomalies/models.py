"""The platform: users and roles, teams and their datastore permissions, anomalies."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"


class User(AbstractUser):
    """A person who signs in.

    A global role is one exclusive, ordered choice, so it is a field rather than Django groups
    (which allow any combination). Django's own machinery derives from it: `is_superuser` for
    Admins, `is_staff` for Admins and Managers (admin site access), and `RoleBackend` grants
    Managers their model permissions. Everything else is decided by team permissions.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    def save(self, *args, **kwargs) -> None:
        self.is_superuser = self.role == Role.ADMIN
        self.is_staff = self.role in (Role.ADMIN, Role.MANAGER)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_superuser", "is_staff"}
        super().save(*args, **kwargs)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_manage_integrations(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Level(models.IntegerChoices):
    """A team's permission on a datastore; each level includes those below it."""

    REPORTER = 10, "Reporter"
    VIEWER = 20, "Viewer"
    DRAFTER = 30, "Drafter"
    AUTHOR = 40, "Author"
    EDITOR = 50, "Editor"


class TeamQuerySet(models.QuerySet):
    def public(self) -> "Team":
        return self.get(is_public=True)


class Team(models.Model):
    PUBLIC_NAME = "Public"

    name = models.CharField(max_length=100, unique=True)
    is_public = models.BooleanField(
        default=False, editable=False, help_text="The built-in team every user belongs to."
    )
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_public"], condition=Q(is_public=True), name="one_public_team"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args, **kwargs):
        if self.is_public:
            raise models.ProtectedError(
                "The Public team is built in and cannot be deleted.", {self}
            )
        return super().delete(*args, **kwargs)


class Datastore(models.Model):
    name = models.CharField(max_length=100, unique=True)
    connection_type = models.CharField(max_length=50, blank=True, help_text="e.g. PostgreSQL")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Container(models.Model):
    """A table, view or file inside a datastore."""

    datastore = models.ForeignKey(Datastore, on_delete=models.CASCADE, related_name="containers")
    name = models.CharField(max_length=200)
    container_type = models.CharField(max_length=20, default="table")

    class Meta:
        ordering = ["datastore__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["datastore", "name"], name="unique_container_name")
        ]

    def __str__(self) -> str:
        return f"{self.datastore.name} › {self.name}"


class DatastorePermission(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="permissions")
    datastore = models.ForeignKey(Datastore, on_delete=models.CASCADE, related_name="permissions")
    level = models.PositiveSmallIntegerField(choices=Level.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "datastore"], name="one_level_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.team} is {self.get_level_display()} on {self.datastore}"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AnomalyType(models.TextChoices):
    RECORD = "record", "Record"
    SHAPE = "shape", "Shape"


class Status(models.TextChoices):
    ACTIVE = "Active"
    ACKNOWLEDGED = "Acknowledged"
    RESOLVED = "Resolved"
    DUPLICATE = "Duplicate"
    INVALID = "Invalid"
    DISCARDED = "Discarded"


OPEN_STATUSES = (Status.ACTIVE, Status.ACKNOWLEDGED)
ARCHIVE_REASONS = (Status.RESOLVED, Status.DUPLICATE, Status.INVALID, Status.DISCARDED)


class StatusTransitionError(Exception):
    """An illegal status change; the message is shown to the user as it is."""


class AnomalyQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> "AnomalyQuerySet":
        """Anomalies on datastores where the user has at least Reporter (Admins: all)."""
        if user.is_admin:
            return self
        return self.filter(datastore__in=Datastore.objects.filter(permissions__team__members=user))

    def visible_among(self, user: User, datastores) -> "AnomalyQuerySet":
        """`visible_to`, given the datastores the user sees (`visible_datastores`, already
        read): their ids as literals plan far faster than the permission join, which
        Postgres planned again in each subquery (9 ms of planning per list count query)."""
        if user.is_admin:
            return self
        return self.filter(datastore_id__in=[datastore.pk for datastore in datastores])

    def open(self) -> "AnomalyQuerySet":
        return self.filter(status__in=OPEN_STATUSES)

    def archived(self) -> "AnomalyQuerySet":
        return self.filter(status__in=ARCHIVE_REASONS)


class Anomaly(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    datastore = models.ForeignKey(Datastore, on_delete=models.PROTECT, related_name="anomalies")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="anomalies")
    anomaly_type = models.CharField("type", max_length=10, choices=AnomalyType.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    weight = models.PositiveIntegerField(default=1, help_text="Severity score.")
    anomalous_record_count = models.PositiveIntegerField(null=True, blank=True)
    description = models.TextField()
    detected_at = models.DateTimeField(default=timezone.now)
    fingerprint = models.CharField(
        max_length=128, unique=True, help_text="Identifies a recurring anomaly for deduplication."
    )
    assignees = models.ManyToManyField(User, related_name="assigned_anomalies", blank=True)
    tags = models.ManyToManyField(Tag, related_name="anomalies", blank=True)
    archive_note = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AnomalyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "anomalies"
        ordering = ["-detected_at", "-id"]
        indexes = [
            models.Index(fields=["datastore", "status", "-detected_at"]),
            models.Index(fields=["-detected_at", "-id"]),
            models.Index(fields=["-weight", "-id"]),
            # The list's one-status pages, and its per-status counts: each a range of at most
            # COUNT_CAP entries, whatever the type and datastore filters (docs/performance.md).
            models.Index(fields=["status", "-detected_at", "-id"], name="anomaly_status_detected"),
            models.Index(
                fields=["status", "anomaly_type", "datastore"], name="anomaly_status_counts"
            ),
            # The list sorted by its Status column: keyset pages walk this index.
            models.Index(fields=["status", "id"], name="anomaly_status_sort"),
        ]

    def __str__(self) -> str:
        return f"Anomaly {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_archived(self) -> bool:
        return self.status in ARCHIVE_REASONS

    @property
    def takes_comments(self) -> bool:
        return not self.is_archived

    def acknowledge(self) -> None:
        if self.status != Status.ACTIVE:
            raise StatusTransitionError(
                f"Only an Active anomaly can be acknowledged; this one is {self.status}."
            )
        self._set_status(Status.ACKNOWLEDGED)

    def archive(self, reason: str, note: str = "") -> None:
        if reason not in ARCHIVE_REASONS:
            raise StatusTransitionError(f"Choose an archive reason: {', '.join(ARCHIVE_REASONS)}.")
        if self.is_archived:
            raise StatusTransitionError(f"This anomaly is already archived as {self.status}.")
        self._set_status(reason)
        self.archive_note = note.strip()

    def restore(self) -> None:
        # Restoring never goes back to Active: Acknowledged never returns to Active.
        if not self.is_archived:
            raise StatusTransitionError("Only an archived anomaly can be restored.")
        self._set_status(Status.ACKNOWLEDGED)
        self.archive_note = ""

    def _set_status(self, status: str) -> None:
        self.status = status
        self.status_changed_at = timezone.now()


class FailedCheck(models.Model):
    anomaly = models.ForeignKey(Anomaly, on_delete=models.CASCADE, related_name="failed_checks")
    rule_type = models.CharField(max_length=50)
    field_name = models.CharField("field", max_length=200, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.rule_type} on {self.field_name}" if self.field_name else self.rule_type


class Comment(models.Model):
    anomaly = models.ForeignKey(Anomaly, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on anomaly {self.anomaly_id}"


class HistoryEntry(models.Model):
    """One change to an anomaly: who, when, what. Written only by services, never edited."""

    anomaly = models.ForeignKey(Anomaly, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for changes made by the system (e.g. the sync worker).",
    )
    action = models.CharField(max_length=40)
    summary = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "history entries"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.summary


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user: User, *, name: str = "") -> tuple["ApiToken", str]:
        """A new token and its key. The key is returned only here: only its hash is stored."""
        key = ApiToken.KEY_PREFIX + secrets.token_urlsafe(32)
        token = self.create(
            user=user, name=name, prefix=key[: ApiToken.SHOWN_CHARS], key_hash=hash_api_key(key)
        )
        return token, key

    def authenticate(self, key: str) -> "ApiToken | None":
        """The active token with this key, of an active user.

        Looking the key up by its SHA-256 hash is what makes the check constant-time: the
        database compares hashes, so how long it takes says nothing about the key.
        """
        return (
            self.filter(key_hash=hash_api_key(key), revoked_at__isnull=True, user__is_active=True)
            .select_related("user")
            .first()
        )


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A user's key for the JSON API. The key itself is never stored, only its SHA-256 hash
    (a random 256-bit key needs no slow hash); the prefix tells tokens apart in the admin."""

    KEY_PREFIX = "qj_"
    SHOWN_CHARS = 11  # "qj_" and 8 random characters
    # A busy client would write its token row on every request; once a minute is enough.
    LAST_USED_PRECISION = timedelta(minutes=1)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for.")
    prefix = models.CharField(max_length=SHOWN_CHARS, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'}) of {self.user.username}"

    def mark_used(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= self.LAST_USED_PRECISION:
            self.last_used_at = now
            self.save(update_fields=["last_used_at"])

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class SavedViewQuerySet(models.QuerySet):
    def for_user(self, user: User) -> "SavedViewQuerySet":
        """The user's own views and those shared with one of their teams."""
        return self.filter(Q(owner=user) | Q(team__members=user)).distinct()


class SavedView(models.Model):
    """A named set of list filters (the list's query string), optionally shared with a team."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="saved_views",
        help_text="Shared with this team's members; empty: only the owner sees it.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="one_saved_view_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name


class BulkRunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class BulkRun(models.Model):
    """A bulk action too large to answer within the request (anomalies.bulk_runs): a worker
    carries it out, one transaction per anomaly as inline runs do, and the page shows its
    progress. Options are the submitted inputs, validated again when it runs."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="bulk_runs")
    action = models.CharField(max_length=32)
    options = models.JSONField(default=dict, blank=True)
    anomaly_ids = models.JSONField(default=list)
    back = models.CharField(max_length=2000, blank=True, help_text="The list's filters.")
    state = models.CharField(
        max_length=8, choices=BulkRunState.choices, default=BulkRunState.QUEUED
    )
    # What the whole run could not do (e.g. the assignee left), shown instead of a summary.
    refused = models.CharField(max_length=500, blank=True)
    notes = models.JSONField(default=list, blank=True)  # "86 Jira comments queued"
    created_at = models.DateTimeField(default=timezone.now)
    # The worker carrying it out (a random token) renews the heartbeat while it works; a run
    # whose heartbeat stops is taken over by another, and the first then stops.
    claim = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="bulk_run_unfinished")]

    def __str__(self) -> str:
        return f"{self.action} of {len(self.anomaly_ids)} anomalies by {self.user}"


class BulkRunOutcome(models.Model):
    """What a bulk run did to one anomaly. A done outcome commits in the anomaly's own
    transaction, so a run taken over after a crash never applies an anomaly twice."""

    run = models.ForeignKey(BulkRun, on_delete=models.CASCADE, related_name="outcomes")
    anomaly_id = models.BigIntegerField()  # not a key: the outcome outlives a deleted anomaly
    skipped = models.CharField(max_length=200, blank=True, help_text="Empty: done.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "anomaly_id"], name="one_outcome_per_anomaly")
        ]

    def __str__(self) -> str:
        return f"{self.anomaly_id}: {self.skipped or 'done'}"
