"""Services of the rules: deciding (inside the anomaly's transaction), executing (workers),
the dry run and the preview."""

from .deciding import apply_rules
from .dry_run import DryRun, dry_run_rule, preview_rule
from .executing import execute_rule_action, sweep_rule_actions

__all__ = [
    "DryRun",
    "apply_rules",
    "dry_run_rule",
    "execute_rule_action",
    "preview_rule",
    "sweep_rule_actions",
]
