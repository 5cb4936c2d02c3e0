"""Incident rules: defaults on insert, computed priority, state side effects, data policy.

Facts: docs/servicenow-api.md §2.6 (defaults, ignored fields, invalid choices), §2.7 (PATCH),
§4.1 (states), §4.2 (priority lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import errors
from .schema import CHOICE, INCIDENT, JOURNAL, JOURNAL_LIST

# (impact, urgency) -> priority, the base lookup rules (§4.2).
PRIORITY_LOOKUP = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("1", "3"): "3",
    ("2", "2"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}
CLOSED_STATES = {"7", "8"}  # Closed, Canceled: active becomes false (§4.1)
RESOLVING_STATES = {"6", "7"}  # need close_code and close_notes (data policy, §2.7)
COMPUTED = {"priority", "incident_state", "active", "number", "sys_class_name"}
DEFAULTS = {
    "state": "1",
    "impact": "3",
    "urgency": "3",
    "severity": "3",
    "category": "inquiry",
    "contact_type": "phone",
    "approval": "not requested",
    "upon_approval": "proceed",
    "escalation": "0",
    "reopen_count": "0",
    "notify": "1",
    "made_sla": "true",
    "sys_class_name": "incident",
}

# choice_values(element, dependent_value) -> the allowed values ("" = any dependent value)
ChoiceValues = Callable[[str, str | None], set[str]]


def writable_values(body: dict[str, Any], choice_values: ChoiceValues) -> dict[str, str]:
    """The fields a write may set: unknown, system and computed names are dropped, values become
    strings, and an invalid choice value is discarded (the default applies instead)."""
    values: dict[str, str] = {}
    for name, raw in body.items():
        field = INCIDENT.field(name)
        if field is None or name.startswith("sys_") or name in COMPUTED:
            continue
        if field.kind in (JOURNAL, JOURNAL_LIST):
            continue  # journal input is appended separately
        value = _as_string(raw)
        is_checked_choice = field.kind == CHOICE and name != "subcategory" and value
        if is_checked_choice and value not in choice_values(name, None):
            continue
        values[name] = value
    return values


def _as_string(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return str(raw).lower()
    if isinstance(raw, dict):  # {"value": …} shapes some clients echo back
        return _as_string(raw.get("value", ""))
    return str(raw)


def journal_input(body: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(element, text)]`` for non-empty ``work_notes`` / ``comments`` in a write body."""
    entries = []
    for element in ("work_notes", "comments"):
        text = _as_string(body.get(element, ""))
        if text.strip():
            entries.append((element, text))
    return entries


def new_incident(
    values: dict[str, str], *, sys_id: str, number: str, now: str, username: str, user_id: str
) -> dict[str, Any]:
    record = {name: "" for name in INCIDENT.fields}
    record.update(DEFAULTS)
    record.update(values)
    record.update(
        sys_id=sys_id,
        number=number,
        opened_at=values.get("opened_at") or now,
        opened_by=values.get("opened_by") or user_id,
        sys_created_on=now,
        sys_created_by=username,
        sys_updated_on=now,
        sys_updated_by=username,
        sys_mod_count="0",
    )
    _apply_state_rules(record, now, user_id)
    return record


def update_incident(
    record: dict[str, Any], values: dict[str, str], *, now: str, username: str, user_id: str
) -> None:
    """Apply a PATCH; raises the data-policy 403 before changing anything (§2.7)."""
    merged = {**record, **values}
    if values.get("state") in RESOLVING_STATES and values["state"] != record["state"]:
        missing = [
            INCIDENT.fields[name].label
            for name in ("close_code", "close_notes")
            if not merged.get(name)
        ]
        if missing:
            raise errors.data_policy(missing)
    record.update(values)
    record.update(
        sys_updated_on=now,
        sys_updated_by=username,
        sys_mod_count=str(int(record.get("sys_mod_count") or 0) + 1),
    )
    _apply_state_rules(record, now, user_id)


def _apply_state_rules(record: dict[str, Any], now: str, user_id: str) -> None:
    key = (record.get("impact") or "3", record.get("urgency") or "3")
    record["priority"] = PRIORITY_LOOKUP.get(key, "5")
    state = record.get("state") or "1"
    record["incident_state"] = state
    record["active"] = "false" if state in CLOSED_STATES else "true"
    if state in RESOLVING_STATES and not record.get("resolved_at"):
        record["resolved_at"] = now
        record["resolved_by"] = record.get("resolved_by") or user_id
    if state in CLOSED_STATES and not record.get("closed_at"):
        record["closed_at"] = now
        record["closed_by"] = record.get("closed_by") or user_id
    if state != "3":
        record["hold_reason"] = ""
