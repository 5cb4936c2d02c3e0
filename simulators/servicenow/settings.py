"""Switches that pick between behaviours real instances show (docs/servicenow-api.md §2.2,
§5.3, §8.3), changed through ``POST /_sim/settings`` and cleared by reset."""

from __future__ import annotations

from typing import Any

DEFAULT_SETTINGS: dict[str, Any] = {
    # Every non-control path answers 200 with the HTML hibernation page.
    "hibernating": False,
    # A query with invalid parts: "ignore" them and run the rest (the documented default),
    # "no_rows" (glide.invalid_query.returns_no_rows=true) or "forbidden" (403, as reported).
    "invalid_query": "ignore",
    # sys_journal_field for an account without audit_viewer: "empty" 200 or "forbidden" 403.
    "journal_denied": "empty",
}
SETTING_CHOICES: dict[str, tuple[Any, ...]] = {
    "hibernating": (True, False),
    "invalid_query": ("ignore", "no_rows", "forbidden"),
    "journal_denied": ("empty", "forbidden"),
}


def validate_settings(changes: dict[str, Any]) -> str | None:
    """An explanation of the first bad name or value, or ``None``."""
    for name, value in changes.items():
        choices = SETTING_CHOICES.get(name)
        if choices is None:
            return f"unknown setting {name}"
        if value not in choices or type(value) is not type(choices[0]):
            return f"{name} must be one of {choices}"
    return None
