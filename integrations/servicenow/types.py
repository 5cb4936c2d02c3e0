"""Plain values the ServiceNow client returns, parsed from Table API records.

Records are read with ``sysparm_display_value=all`` so each field is a
``{"value", "display_value"}`` pair (docs/servicenow-api.md §2.5); every value is a string and
empty is ``""`` (§2.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The fields the product reads of an incident; narrow fields keep pages fast (§8.2).
INCIDENT_FIELDS = (
    "sys_id",
    "number",
    "short_description",
    "state",
    "active",
    "priority",
    "impact",
    "urgency",
    "assignment_group",
    "assigned_to",
    "correlation_id",
    "sys_created_on",
)


def field_pair(record: Mapping[str, Any], name: str) -> tuple[str, str]:
    """``(value, display_value)`` of a field in any display mode (§2.5)."""
    raw = record.get(name, "")
    if isinstance(raw, Mapping):
        value = raw.get("value", "")
        shown = raw.get("display_value", value)
        return _text(value), _text(shown)
    return _text(raw), _text(raw)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Incident:
    sys_id: str
    number: str
    short_description: str
    state: str  # the choice value: "1" New … "8" Canceled (§4.1)
    state_label: str
    active: bool
    priority_label: str
    assignment_group: str
    assigned_to: str
    correlation_id: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Incident:
        state, state_label = field_pair(record, "state")
        return cls(
            sys_id=field_pair(record, "sys_id")[0],
            number=field_pair(record, "number")[0],
            short_description=field_pair(record, "short_description")[1],
            state=state,
            state_label=state_label,
            active=field_pair(record, "active")[0] == "true",
            priority_label=field_pair(record, "priority")[1],
            assignment_group=field_pair(record, "assignment_group")[1],
            assigned_to=field_pair(record, "assigned_to")[1],
            correlation_id=field_pair(record, "correlation_id")[0],
        )


@dataclass(frozen=True)
class Choice:
    """One ``sys_choice`` row: a choice field's stored value and its label (§4)."""

    value: str
    label: str
    dependent_value: str = ""

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Choice:
        return cls(
            value=field_pair(record, "value")[0],
            label=field_pair(record, "label")[0],
            dependent_value=field_pair(record, "dependent_value")[0],
        )


@dataclass(frozen=True)
class Reference:
    """A user or group as the create form offers it: sys_id and a display name (§6)."""

    sys_id: str
    name: str
    detail: str = ""

    @classmethod
    def user(cls, record: Mapping[str, Any]) -> Reference:
        return cls(
            sys_id=field_pair(record, "sys_id")[0],
            name=field_pair(record, "name")[0],
            detail=field_pair(record, "email")[0] or field_pair(record, "user_name")[0],
        )

    @classmethod
    def group(cls, record: Mapping[str, Any]) -> Reference:
        return cls(sys_id=field_pair(record, "sys_id")[0], name=field_pair(record, "name")[0])


@dataclass(frozen=True)
class IncidentLookup:
    """Incidents found by number; ``missing`` numbers matched no readable row (§7.1: numbers
    are not guaranteed unique, so ``found`` holds every row of a number, oldest first)."""

    found: dict[str, list[Incident]]
    missing: frozenset[str]
