"""Automatic ticket rules: what to match, what to do, and the outbox of their decisions.

A rule's decision is written in the anomaly's own transaction (a RuleAction row, docs/rules.md);
workers carry out the ones that need the ticketing system. One RuleGroup row per rule and
grouping key is the lock that makes recurring anomalies share one ticket.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from anomalies.models import AnomalyType, Datastore


class Trigger(models.TextChoices):
    INGESTED = "ingested", "When an anomaly is ingested"
    STATUS_CHANGED = "status_changed", "When an anomaly's status changes"


class ActionKind(models.TextChoices):
    CREATE = "create", "Create a ticket (one per recurring group)"
    LINK = "link", "Link to an existing ticket"
    COMMENT = "comment", "Only comment on the anomaly's linked tickets"


class TicketRule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(
        default=100, help_text="Rules are tried in this order, lowest first."
    )
    paused = models.BooleanField(
        default=True, help_text="A paused rule matches nothing; check its dry run first."
    )
    continue_matching = models.BooleanField(
        "continue", default=False, help_text="Try the following rules too when this one matches."
    )
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.INGESTED)
    # --- what to match (empty means any) ---
    datastores = models.ManyToManyField(Datastore, related_name="+", blank=True)
    container_pattern = models.CharField(
        max_length=200, blank=True, help_text="A glob on the container name, e.g. orders_*."
    )
    anomaly_type = models.CharField(max_length=10, choices=AnomalyType.choices, blank=True)
    check_rule_types = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated; matches when any failed check has one of these types.",
    )
    min_weight = models.PositiveIntegerField(default=0)
    statuses = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated anomaly statuses, e.g. Active."
    )
    # --- what to do ---
    action = models.CharField(max_length=10, choices=ActionKind.choices, default=ActionKind.CREATE)
    # The ticket's fields, by the names of the connected system's create form (Jira: project,
    # issue_type, labels, assignee, …; ServiceNow: urgency, impact, category,
    # assignment_group, …), checked against that form when saved (rules/ticket_fields.py).
    ticket_fields = models.JSONField(
        default=dict,
        blank=True,
        help_text='The create form\'s fields, e.g. {"issue_type": "10001", "labels": ["dq"]}.',
    )
    priority_bands = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"min_weight": 80, "values": {"priority": "1"}}, …]: the highest band '
        "reached adds its values (fields of the create form) to the ticket.",
    )
    # What the check of ticket_fields found: the connector it was made for, where tickets go
    # (Jira: the project), and how the chosen fields are sent (custom fields need it).
    ticket_connector = models.CharField(max_length=20, blank=True, editable=False)
    ticket_scope = models.CharField(max_length=100, blank=True, editable=False)
    ticket_form = models.JSONField(default=list, blank=True, editable=False)
    summary_template = models.CharField(max_length=500, blank=True)
    description_template = models.TextField(blank=True)
    issue_key = models.CharField(
        max_length=64, blank=True, help_text="For “link”: the existing ticket, e.g. DQ-12."
    )
    comment_template = models.TextField(blank=True, help_text="For “only comment”.")
    cooldown_hours = models.FloatField(
        default=24,
        help_text="After a group's ticket is Done, recurrences comment on it for this long "
        "before a new ticket is opened.",
    )
    # Automatic actions are made on behalf of the rule's owner (the create marker is theirs).
    # A deleted owner leaves the rule paused, named by the snapshot, until a Manager resumes
    # or edits it and so takes it over.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    owner_name = models.CharField(max_length=150, blank=True, editable=False)
    actions_count = models.PositiveIntegerField(default=0, editable=False)
    failures_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if self.owner is not None:
            self.owner_name = self.owner.get_username()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "owner_name"}
        super().save(*args, **kwargs)

    @property
    def owner_display(self) -> str:
        """Who made the rule, still readable after their account is deleted."""
        if self.owner_id is not None:
            return self.owner_name or str(self.owner)
        return f"{self.owner_name} (deleted user)" if self.owner_name else "deleted user"

    def take_over(self, user) -> bool:
        """An orphaned rule becomes ``user``'s (who resumed or edited it). True if taken."""
        if self.owner_id is not None:
            return False
        self.owner = user
        return True

    @property
    def check_rule_type_list(self) -> list[str]:
        return _split(self.check_rule_types)

    @property
    def status_list(self) -> list[str]:
        return _split(self.statuses)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class RuleGroup(models.Model):
    """Recurring anomalies of one rule: their shared ticket. Locked while deciding."""

    rule = models.ForeignKey(TicketRule, on_delete=models.CASCADE, related_name="groups")
    group_key = models.CharField(max_length=64)
    description = models.CharField(max_length=500, blank=True)
    # The create in flight (its RuleAction), then the ticket it made.
    creating = models.BooleanField(default=False)
    link = models.ForeignKey(
        "integrations.TicketLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    done_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "group_key"], name="one_group_per_rule_key")
        ]

    def __str__(self) -> str:
        return f"{self.rule} › {self.description or self.group_key[:12]}"


class ActionState(models.TextChoices):
    PENDING = "pending", "Pending"
    WAITING = "waiting", "Waiting for the group's ticket"
    SENDING = "sending", "Sending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class RuleAction(models.Model):
    """One decision of one rule for one anomaly change: the outbox row."""

    class Kind(models.TextChoices):
        CREATE = "create", "Create ticket"
        RECUR = "recur", "Recurrence comment"
        LINK = "link", "Link ticket"
        COMMENT = "comment", "Comment"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rule = models.ForeignKey(TicketRule, on_delete=models.CASCADE, related_name="actions")
    anomaly = models.ForeignKey("anomalies.Anomaly", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(
        RuleGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="actions"
    )
    trigger_key = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=ActionState.choices)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)
    issue_key = models.CharField(max_length=64, blank=True)
    # A recurrence's comment: recurrences that arrive before it is sent share it.
    comment_event = models.ForeignKey(
        "integrations.SyncEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "anomaly", "trigger_key"], name="one_decision_per_rule_change"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.rule}: {self.get_kind_display()} for anomaly {self.anomaly_id}"


class RequestBudget(models.Model):
    """The site-wide token bucket of rule actions (one row)."""

    tokens = models.FloatField()
    refilled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tokens:.1f} rule actions left"
