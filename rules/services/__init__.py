"""Services of the rules: deciding (inside the anomaly's transaction), executing (workers),
the dry run and the preview."""

from .deciding import active_rules, apply_rules
from .dry_run import DryRun, dry_run_rule, preview_rule
from .executing import execute_rule_action, sweep_rule_actions
from .owners import orphan_rules_of

__all__ = [
    "DryRun",
    "active_rules",
    "apply_rules",
    "dry_run_rule",
    "execute_rule_action",
    "orphan_rules_of",
    "preview_rule",
    "sweep_rule_actions",
]
