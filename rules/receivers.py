"""Where rules hear about anomalies: the platform's `anomaly_changed` signal for status
changes (and ingestion, if it is ever announced there), and the "ingested" history entry
that ingestion writes last in its transaction. A change heard twice is decided once (one
RuleAction per rule, anomaly and change)."""

from __future__ import annotations

from django.db.models.signals import post_save

from anomalies.models import HistoryEntry

from .models import Trigger

STATUS_KINDS = ("acknowledged", "archived", "restored")


def connect() -> None:
    from anomalies.api import register_detail_field
    from anomalies.signals import anomaly_changed

    from .api import rule_matches_json

    anomaly_changed.connect(on_anomaly_changed, dispatch_uid="rules.on_anomaly_changed")
    post_save.connect(on_history_entry, sender=HistoryEntry, dispatch_uid="rules.on_ingested")
    register_detail_field("rule_matches", rule_matches_json)


def on_anomaly_changed(sender, change, **kwargs) -> None:
    from .services import apply_rules

    if change.kind == "ingested":
        apply_rules(change.anomaly, trigger=Trigger.INGESTED, trigger_key="ingested", at=change.at)
    elif change.kind in STATUS_KINDS:
        key = f"{change.kind}@{change.at.isoformat()}"
        apply_rules(change.anomaly, trigger=Trigger.STATUS_CHANGED, trigger_key=key, at=change.at)


def on_history_entry(sender, instance: HistoryEntry, created: bool, raw=False, **kwargs) -> None:
    from .services import apply_rules

    if created and not raw and instance.action == "ingested":
        apply_rules(
            instance.anomaly,
            trigger=Trigger.INGESTED,
            trigger_key="ingested",
            at=instance.created_at,
        )
