"""The tables the simulator serves and the kind of each field (docs/servicenow-api.md §2, §4–§6).

Every stored value is a string, as ServiceNow returns them; the kind decides how a value is
displayed (``sysparm_display_value``) and how a reference is linked.
"""

from __future__ import annotations

from dataclasses import dataclass

STRING, CHOICE, REFERENCE, JOURNAL, JOURNAL_LIST = "string", "choice", "reference", "journal", "jl"
DATETIME, BOOLEAN, INTEGER = "datetime", "boolean", "integer"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = STRING
    reference: str | None = None  # the table a reference field points to
    label: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    display_field: str
    fields: dict[str, Field]

    def field(self, name: str) -> Field | None:
        return self.fields.get(name)


def _table(name: str, display_field: str, *fields: Field) -> Table:
    system = (
        Field("sys_id"),
        Field("sys_created_on", DATETIME),
        Field("sys_created_by"),
        Field("sys_updated_on", DATETIME),
        Field("sys_updated_by"),
        Field("sys_mod_count", INTEGER),
    )
    return Table(name, display_field, {f.name: f for f in (*fields, *system)})


def _user(name: str, label: str = "") -> Field:
    return Field(name, REFERENCE, "sys_user", label)


INCIDENT = _table(
    "incident",
    "number",
    Field("number", label="Number"),
    Field("short_description", label="Short description"),
    Field("description", label="Description"),
    Field("state", CHOICE, label="State"),
    Field("incident_state", CHOICE, label="Incident state"),
    Field("impact", CHOICE, label="Impact"),
    Field("urgency", CHOICE, label="Urgency"),
    Field("priority", CHOICE, label="Priority"),
    Field("severity", CHOICE, label="Severity"),
    Field("category", CHOICE, label="Category"),
    Field("subcategory", CHOICE, label="Subcategory"),
    Field("contact_type", CHOICE, label="Channel"),
    Field("hold_reason", CHOICE, label="On hold reason"),
    Field("close_code", CHOICE, label="Resolution code"),
    Field("close_notes", label="Close notes"),
    Field("assignment_group", REFERENCE, "sys_user_group", "Assignment group"),
    _user("assigned_to", "Assigned to"),
    _user("caller_id", "Caller"),
    _user("opened_by", "Opened by"),
    _user("resolved_by", "Resolved by"),
    _user("closed_by", "Closed by"),
    Field("opened_at", DATETIME, label="Opened"),
    Field("resolved_at", DATETIME, label="Resolved"),
    Field("closed_at", DATETIME, label="Closed"),
    Field("active", BOOLEAN, label="Active"),
    Field("made_sla", BOOLEAN, label="Made SLA"),
    Field("correlation_id", label="Correlation ID"),
    Field("correlation_display", label="Correlation display"),
    Field("approval", label="Approval"),
    Field("upon_approval", label="Upon approval"),
    Field("escalation", INTEGER, label="Escalation"),
    Field("reopen_count", INTEGER, label="Reopen count"),
    Field("notify", label="Notify"),
    Field("sys_class_name", label="Task type"),
    Field("work_notes", JOURNAL, label="Work notes"),
    Field("comments", JOURNAL, label="Additional comments"),
    Field("comments_and_work_notes", JOURNAL_LIST, label="Comments and Work notes"),
)

USER = _table(
    "sys_user",
    "name",
    Field("user_name", label="User ID"),
    Field("name", label="Name"),
    Field("first_name", label="First name"),
    Field("last_name", label="Last name"),
    Field("email", label="Email"),
    Field("title", label="Title"),
    Field("active", BOOLEAN, label="Active"),
    Field("web_service_access_only", BOOLEAN, label="Web service access only"),
)

GROUP = _table(
    "sys_user_group",
    "name",
    Field("name", label="Name"),
    Field("description", label="Description"),
    Field("email", label="Group email"),
    _user("manager", "Manager"),
    Field("active", BOOLEAN, label="Active"),
)

CHOICE_TABLE = _table(
    "sys_choice",
    "label",
    Field("name", label="Table"),
    Field("element", label="Element"),
    Field("value", label="Value"),
    Field("label", label="Label"),
    Field("dependent_value", label="Dependent value"),
    Field("language", label="Language"),
    Field("sequence", INTEGER, label="Sequence"),
    Field("inactive", BOOLEAN, label="Inactive"),
)

JOURNAL_TABLE = _table(
    "sys_journal_field",
    "value",
    Field("element_id", label="Element ID"),
    Field("name", label="Table name"),
    Field("element", label="Element"),
    Field("value", label="Value"),
    Field("sys_tags", label="Tags"),
)

TABLES: dict[str, Table] = {
    table.name: table for table in (INCIDENT, USER, GROUP, CHOICE_TABLE, JOURNAL_TABLE)
}

# Who may read what (docs/servicenow-api.md §5.3): the journal table needs audit_viewer (or
# admin); writing incidents needs itil (or admin). Everyone authenticated reads the rest.
JOURNAL_READ_ROLES = {"audit_viewer", "admin"}
INCIDENT_WRITE_ROLES = {"itil", "admin"}
WRITABLE_TABLES = {"incident"}
