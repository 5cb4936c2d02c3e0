"""What the Jira client returns: small immutable values, built from Jira's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict


@dataclass(frozen=True)
class JiraUser:
    account_id: str
    display_name: str
    email_address: str | None  # hidden by the user's profile-visibility settings
    active: bool

    @classmethod
    def from_json(cls, user: dict[str, Any]) -> JiraUser:
        return cls(
            account_id=user.get("accountId", ""),
            display_name=user.get("displayName", ""),
            email_address=user.get("emailAddress") or None,
            active=bool(user.get("active", True)),
        )


@dataclass(frozen=True)
class JiraProject:
    id: str
    key: str
    name: str

    @classmethod
    def from_json(cls, project: dict[str, Any]) -> JiraProject:
        return cls(
            id=str(project.get("id", "")), key=project.get("key", ""), name=project.get("name", "")
        )


@dataclass(frozen=True)
class JiraIssueType:
    id: str
    name: str
    subtask: bool
    description: str = ""

    @classmethod
    def from_json(cls, issue_type: dict[str, Any]) -> JiraIssueType:
        return cls(
            id=str(issue_type.get("id", "")),
            name=issue_type.get("name", ""),
            subtask=bool(issue_type.get("subtask", False)),
            description=issue_type.get("description", ""),
        )


@dataclass(frozen=True)
class AllowedValue:
    id: str
    name: str  # priorities and issue types have "name", select options have "value"


@dataclass(frozen=True)
class CreateField:
    field_id: str
    key: str
    name: str
    required: bool
    schema_type: str
    schema_items: str | None
    schema_system: str | None
    schema_custom: str | None
    allowed_values: tuple[AllowedValue, ...]
    has_default_value: bool

    @classmethod
    def from_json(cls, meta: dict[str, Any]) -> CreateField:
        schema = meta.get("schema") or {}
        return cls(
            field_id=meta.get("fieldId", meta.get("key", "")),
            key=meta.get("key", meta.get("fieldId", "")),
            name=meta.get("name", ""),
            required=bool(meta.get("required", False)),
            schema_type=schema.get("type", ""),
            schema_items=schema.get("items"),
            schema_system=schema.get("system"),
            schema_custom=schema.get("custom"),
            allowed_values=tuple(
                AllowedValue(id=str(v.get("id", "")), name=v.get("name") or v.get("value") or "")
                for v in meta.get("allowedValues") or ()
                if isinstance(v, dict)
            ),
            has_default_value=bool(meta.get("hasDefaultValue", False)),
        )


@dataclass(frozen=True)
class IssueSummary:
    id: str
    key: str
    summary: str
    status_name: str
    status_category_key: str  # "new", "indeterminate" or "done"
    fields: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, issue: dict[str, Any]) -> IssueSummary:
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        return cls(
            id=str(issue.get("id", "")),
            key=issue.get("key", ""),
            summary=fields.get("summary") or "",
            status_name=status.get("name", ""),
            status_category_key=(status.get("statusCategory") or {}).get("key", ""),
            fields=fields,
        )


@dataclass(frozen=True)
class IssueLookup:
    """Issues found by key (upper-cased), and the keys Jira did not return (deleted/hidden)."""

    found: dict[str, IssueSummary]
    missing: frozenset[str]


class CreatedIssue(TypedDict):
    id: str
    key: str
    self: str
