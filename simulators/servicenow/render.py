"""Records as the Table API returns them (docs/servicenow-api.md §2.3–§2.5, §5.2).

Every value is a string. ``sysparm_display_value`` picks the stored value (``false``), the
display value (``true``) or both (``all``); a non-empty reference is an object with a ``link``
unless ``sysparm_exclude_reference_link=true``. Journal fields read ``""`` as stored values and
the whole history, newest first, as display values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .query import resolve_field
from .schema import CHOICE, JOURNAL, JOURNAL_LIST, REFERENCE, TABLES, Field, Table

if TYPE_CHECKING:
    from .state import SimState

DISPLAY_MODES = ("false", "true", "all")


@dataclass(frozen=True)
class RenderOptions:
    site: str
    fields: list[str] | None = None  # None = every field of the table
    display: str = "false"  # false | true | all
    exclude_links: bool = False


def record_json(
    state: SimState, table: Table, record: dict[str, Any], options: RenderOptions
) -> dict[str, Any]:
    names = options.fields if options.fields is not None else list(table.fields)
    rendered: dict[str, Any] = {}
    for name in names:
        owner_table, owner = _owner(state, table, record, name)
        field = resolve_field(table, name)
        if field is None:
            continue  # unknown names in sysparm_fields are ignored (§2.1)
        rendered[name] = _field_json(state, owner_table, owner, field, options)
    return rendered


def _owner(
    state: SimState, table: Table, record: dict[str, Any] | None, path: str
) -> tuple[Table, dict[str, Any] | None]:
    """The record (and its table) that holds the last step of a dot-walked path."""
    for step in path.split(".")[:-1]:
        step_field = table.field(step)
        if step_field is None or step_field.reference is None or record is None:
            return table, None
        table = TABLES[step_field.reference]
        record = state.get(table.name, record.get(step, ""))
    return table, record


def _field_json(
    state: SimState,
    table: Table,
    record: dict[str, Any] | None,
    field: Field,
    options: RenderOptions,
) -> Any:
    value = "" if record is None else str(record.get(field.name, ""))
    if field.kind in (JOURNAL, JOURNAL_LIST):
        value = ""  # journal input fields never read back as stored values (§5.2)
    display = display_value(state, table, record, field) if options.display != "false" else ""
    link = None
    if field.kind == REFERENCE and value and not options.exclude_links:
        link = f"{options.site}/api/now/table/{field.reference}/{value}"
    if options.display == "all":
        both = {"display_value": display, "value": value}
        return {**both, "link": link} if link else both
    shown = display if options.display == "true" else value
    if link is None:
        return shown
    if options.display == "true":
        return {"display_value": shown, "link": link}
    return {"link": link, "value": shown}


def display_value(
    state: SimState, table: Table, record: dict[str, Any] | None, field: Field
) -> str:
    if record is None:
        return ""
    value = str(record.get(field.name, ""))
    if field.kind == REFERENCE:
        target_table = TABLES[field.reference or ""]
        target = state.get(target_table.name, value) if value else None
        return "" if target is None else str(target.get(target_table.display_field, ""))
    if field.kind == CHOICE and table.name == "incident":
        dependent = record.get("category") if field.name == "subcategory" else None
        return choice_label(state, field.name, value, dependent) or value
    if field.kind == JOURNAL:
        return journal_history(state, record["sys_id"], (field.name,))
    if field.kind == JOURNAL_LIST:
        return journal_history(state, record["sys_id"], ("comments", "work_notes"))
    return value


def choice_label(state: SimState, element: str, value: str, dependent: str | None) -> str:
    rows = [
        row
        for row in state.rows("sys_choice")
        if row["name"] == "incident" and row["element"] == element and row["value"] == value
    ]
    preferred = [row for row in rows if row["dependent_value"] == dependent] or rows
    return preferred[0]["label"] if preferred else ""


def journal_history(state: SimState, sys_id: str, elements: tuple[str, ...]) -> str:
    """``"<when> - <user name> (<field label>)\\n<text>\\n\\n"`` per entry, newest first."""
    parts = []
    for entry in reversed(state.journal(sys_id, elements)):
        label = TABLES["incident"].fields[entry["element"]].label
        author = user_display_name(state, entry["sys_created_by"])
        parts.append(f"{entry['sys_created_on']} - {author} ({label})\n{entry['value']}\n\n")
    return "".join(parts)


def user_display_name(state: SimState, user_name: str) -> str:
    user = next((u for u in state.rows("sys_user") if u["user_name"] == user_name), None)
    return user["name"] if user else user_name
