"""Where rules hear about anomalies: the platform's seam, and only it. `anomaly_changed` says
an ingestion (kind "ingested") or one status change (a bulk action sends it once per
anomaly, from the same services). It is sent inside the change's transaction, so each
decision (a RuleAction, the outbox row) commits with the change or not at all."""

from __future__ import annotations

from .models import Trigger

STATUS_KINDS = ("acknowledged", "archived", "restored")


def connect() -> None:
    from django.db.models.signals import pre_delete

    from anomalies.api import register_detail_field
    from anomalies.models import User
    from anomalies.signals import anomaly_changed

    from .api import rule_matches_json

    anomaly_changed.connect(on_anomaly_changed, dispatch_uid="rules.on_anomaly_changed")
    pre_delete.connect(on_user_deleted, sender=User, dispatch_uid="rules.on_owner_deleted")
    register_detail_field("rule_matches", rule_matches_json)


def on_anomaly_changed(sender, change, **kwargs) -> None:
    hear([change])


def hear(changes) -> None:
    from .services import active_rules, apply_rules

    rules_by_trigger: dict[str, list] = {}
    for change in changes:
        if change.kind == "ingested":
            trigger, key = Trigger.INGESTED, "ingested"
        elif change.kind in STATUS_KINDS:
            trigger, key = Trigger.STATUS_CHANGED, f"{change.kind}@{change.at.isoformat()}"
        else:
            continue
        if trigger not in rules_by_trigger:  # read once for a bulk change, not per anomaly
            rules_by_trigger[trigger] = active_rules(trigger)
        apply_rules(
            change.anomaly,
            trigger=trigger,
            trigger_key=key,
            at=change.at,
            rules=rules_by_trigger[trigger],
        )


def on_user_deleted(sender, instance, **kwargs) -> None:
    """A rule acts for its owner; without one it pauses until a Manager takes it over by
    resuming or editing it (docs/rules.md, "Owners")."""
    from .services import orphan_rules_of

    orphan_rules_of(instance)
