"""Where rules hear about anomalies: the platform's seam, and only it. `anomaly_changed` says
an ingestion (kind "ingested") or one status change (a bulk action sends it once per
anomaly, from the same services). It is sent inside the change's transaction, so each
decision (a RuleAction, the outbox row) commits with the change or not at all."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from .models import Trigger

STATUS_KINDS = ("acknowledged", "archived", "restored")

# While a bulk run is open: each trigger's active rules, read once for the whole run.
_rules_of_this_run: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "rules_of_this_run", default=None
)


@contextlib.contextmanager
def rules_read_once_per_run() -> Iterator[None]:
    """A bulk batch hook: a run over 1,000 anomalies reads the active rules once, not once
    per anomaly. A rule edited while the run goes applies from the next change, as it does
    for a change that began before the edit was committed."""
    token = _rules_of_this_run.set({})
    try:
        yield None
    finally:
        _rules_of_this_run.reset(token)


def connect() -> None:
    from django.db.models.signals import pre_delete

    from anomalies.api import register_detail_field
    from anomalies.bulk import register_batch_hook
    from anomalies.models import User
    from anomalies.signals import anomaly_changed

    from .api import rule_matches_json

    anomaly_changed.connect(on_anomaly_changed, dispatch_uid="rules.on_anomaly_changed")
    pre_delete.connect(on_user_deleted, sender=User, dispatch_uid="rules.on_owner_deleted")
    register_detail_field("rule_matches", rule_matches_json)
    register_batch_hook(rules_read_once_per_run)


def on_anomaly_changed(sender, change, **kwargs) -> None:
    hear([change])


def hear(changes) -> None:
    from .services import active_rules, apply_rules

    run = _rules_of_this_run.get()
    rules_by_trigger: dict[str, list] = {} if run is None else run
    for change in changes:
        if change.kind == "ingested":
            trigger, key = Trigger.INGESTED, "ingested"
        elif change.kind in STATUS_KINDS:
            trigger, key = Trigger.STATUS_CHANGED, f"{change.kind}@{change.at.isoformat()}"
        else:
            continue
        if trigger not in rules_by_trigger:  # once per change, or once per bulk run
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
