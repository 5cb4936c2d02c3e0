"""Encoded queries (``sysparm_query``): parse, evaluate, sort (docs/servicenow-api.md §2.2).

``a^b^ORc`` means a AND (b OR c); ``^NQ`` starts a new query OR-ed with the previous ones;
``ORDERBY<f>`` / ``ORDERBYDESC<f>`` sort. A part that names an unknown field or an operator
the simulator does not know is *dropped* and the rest still runs, as ServiceNow does; the
dropped parts are reported so the caller can apply the instance's policy instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .schema import INTEGER, REFERENCE, STRING, TABLES, Field, Table

# Longest first, so "NOT LIKE" wins over "LIKE", "ISNOTEMPTY" over "IN", ">=" over ">".
OPERATORS = (
    "ISNOTEMPTY",
    "EMPTYSTRING",
    "STARTSWITH",
    "ENDSWITH",
    "NOT LIKE",
    "ISEMPTY",
    "ANYTHING",
    "NOT IN",
    "LIKE",
    "IN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
)
VALUELESS = {"ISNOTEMPTY", "ISEMPTY", "EMPTYSTRING", "ANYTHING"}
FIELD_PATH = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)(.*)$", re.DOTALL)
TEXT_QUERY = "123TEXTQUERY321="  # full-text search over the table (§2.2)

Lookup = Callable[[str, str], dict[str, Any] | None]  # (table, sys_id) -> record


@dataclass
class Condition:
    path: str  # field name, maybe dot-walked ("assignment_group.name"); "" = full text
    operator: str
    value: str


@dataclass
class EncodedQuery:
    # OR of groups (^NQ); each group is an AND of OR-lists (^ and ^OR)
    groups: list[list[list[Condition]]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    dropped: list[str] = field(default_factory=list)

    def matches(self, table: Table, record: dict[str, Any], lookup: Lookup) -> bool:
        groups = [g for g in self.groups if g]
        if not groups:
            return True
        return any(
            all(any(_holds(table, record, c, lookup) for c in either) for either in group)
            for group in groups
        )

    def sort(self, table: Table, records: list[dict[str, Any]], lookup: Lookup) -> None:
        for path, descending in reversed(self.order):
            kind = resolve_field(table, path)
            records.sort(
                key=lambda r, p=path, k=kind: _sort_key(value_at(table, r, p, lookup), k),
                reverse=descending,
            )


def parse(text: str, table: Table) -> EncodedQuery:
    query = EncodedQuery()
    for group_text in text.split("^NQ"):
        group: list[list[Condition]] = []
        for term in group_text.split("^"):
            _add_term(query, group, term, table)
        query.groups.append(group)
    return query


def _add_term(query: EncodedQuery, group: list[list[Condition]], term: str, table: Table) -> None:
    if term in ("", "EQ"):
        return
    for prefix, descending in (("ORDERBYDESC", True), ("ORDERBY", False)):
        if term.startswith(prefix):
            path = term[len(prefix) :]
            if resolve_field(table, path) is None:
                query.dropped.append(term)
            else:
                query.order.append((path, descending))
            return
    is_or = term.startswith("OR") and bool(group)
    condition = parse_condition(term[2:] if is_or else term, table)
    if condition is None:
        query.dropped.append(term)
    elif is_or:
        group[-1].append(condition)
    else:
        group.append([condition])


def parse_condition(term: str, table: Table) -> Condition | None:
    if term.startswith(TEXT_QUERY):
        return Condition("", "TEXT", term[len(TEXT_QUERY) :])
    match = FIELD_PATH.match(term)
    if match is None or resolve_field(table, match.group(1)) is None:
        return None
    path, rest = match.groups()
    for operator in OPERATORS:
        if rest.startswith(operator):
            value = rest[len(operator) :]
            if operator in VALUELESS and value:
                return None
            return Condition(path, operator, value)
    return None


def resolve_field(table: Table, path: str) -> Field | None:
    """The field a (dot-walked) path ends on, or ``None`` when any step is unknown."""
    current: Table | None = table
    found: Field | None = None
    for step in path.split("."):
        if current is None:
            return None
        found = current.field(step)
        if found is None:
            return None
        current = TABLES.get(found.reference) if found.kind == REFERENCE else None
    return found


def value_at(table: Table, record: dict[str, Any] | None, path: str, lookup: Lookup) -> str:
    """The stored value at a dot-walked path ("" when a reference on the way is empty)."""
    current_table, current = table, record
    steps = path.split(".")
    for step in steps[:-1]:
        if current is None:
            return ""
        step_field = current_table.fields[step]
        current_table = TABLES[step_field.reference or ""]
        current = lookup(current_table.name, current.get(step, ""))
    return "" if current is None else str(current.get(steps[-1], ""))


def _holds(table: Table, record: dict[str, Any], condition: Condition, lookup: Lookup) -> bool:
    if condition.operator == "TEXT":
        wanted = condition.value.lower()
        strings = [record.get(f.name, "") for f in table.fields.values() if f.kind == STRING]
        return any(wanted in value.lower() for value in strings)
    actual = value_at(table, record, condition.path, lookup)
    return _compare(actual, condition.operator, condition.value)


def _compare(actual: str, operator: str, value: str) -> bool:
    """``=``/``IN`` compare exactly; LIKE and friends ignore case (the simulator's choice,
    docs/servicenow-api.md §11)."""
    low_actual, low_value = actual.lower(), value.lower()
    checks: dict[str, Callable[[], bool]] = {
        "=": lambda: actual == value,
        "!=": lambda: actual != value,
        "LIKE": lambda: low_value in low_actual,
        "NOT LIKE": lambda: low_value not in low_actual,
        "STARTSWITH": lambda: low_actual.startswith(low_value),
        "ENDSWITH": lambda: low_actual.endswith(low_value),
        "IN": lambda: actual in value.split(","),
        "NOT IN": lambda: actual not in value.split(","),
        "ISEMPTY": lambda: actual == "",
        "EMPTYSTRING": lambda: actual == "",
        "ISNOTEMPTY": lambda: actual != "",
        "ANYTHING": lambda: True,
    }
    if operator in checks:
        return checks[operator]()
    left, right = _ordered(actual), _ordered(value)
    return {
        ">": left > right,
        "<": left < right,
        ">=": left >= right,
        "<=": left <= right,
    }[operator]


def _ordered(value: str) -> tuple[int, float, str]:
    """Numbers compare as numbers, everything else (including timestamps) as text."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def _sort_key(value: str, kind: Field | None) -> tuple[int, float, str]:
    if kind is not None and kind.kind == INTEGER:
        return _ordered(value)
    return (1, 0.0, value.lower())
