"""Create screens: which fields an issue type offers, which are required, what values are allowed.

Served by ``GET /rest/api/3/issue/createmeta/{project}/issuetypes[/{id}]`` (docs/jira-api.md §1.3)
and enforced by ``validation.validate_create``; priorities come as ``allowedValues`` of the
``priority`` field because the priority endpoints are deprecated (docs/jira-api.md §0.4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from . import render, seed


def screen(project: dict[str, Any], type_id: str) -> dict[str, Any] | None:
    return project["screens"].get(type_id)


def is_required(project: dict[str, Any], type_id: str, field_id: str) -> bool:
    required = screen(project, type_id)["required"]  # type: ignore[index]
    return field_id in seed.ALWAYS_REQUIRED or field_id in required


def find_issue_type(project: dict[str, Any], reference: Any) -> str | None:
    """Issue type reference ``{"id"}`` or ``{"name"}`` (name case-insensitive) in a project."""
    if not isinstance(reference, dict):
        return None
    if isinstance(reference.get("id"), str) and reference["id"] in project["screens"]:
        return reference["id"]
    name = reference.get("name")
    if isinstance(name, str):
        for type_id in project["screens"]:
            if seed.ISSUE_TYPES[type_id]["name"].lower() == name.lower():
                return type_id
    return None


def issue_type_entry(site: str, type_id: str) -> dict[str, Any]:
    entry = render.issue_type(site, type_id)
    entry.pop("hierarchyLevel")
    return entry


def field_metadata(
    site: str, project: dict[str, Any], type_id: str, field_id: str
) -> dict[str, Any]:
    """One ``FieldCreateMetadata`` entry."""
    definition = seed.FIELDS[field_id]
    schema = dict(definition["schema"])
    if field_id in seed.SYSTEM_FIELD_IDS or field_id == "assignee":
        schema["system"] = field_id
    meta: dict[str, Any] = {
        "required": is_required(project, type_id, field_id),
        "schema": schema,
        "name": definition["name"],
        "key": field_id,
        "fieldId": field_id,
        "hasDefaultValue": False,
        "operations": definition.get("operations", ["set"]),
    }
    meta.update(_values_for(site, project, type_id, field_id))
    return meta


def _values_for(site: str, project: dict[str, Any], type_id: str, field_id: str) -> dict[str, Any]:
    """Field-specific extras: allowed values, defaults, autocomplete URLs."""
    kind = seed.FIELDS[field_id]["kind"]
    if kind == "priority":
        allowed = {"allowedValues": [render.priority(site, pid) for pid in seed.PRIORITIES]}
        if field_id in (screen(project, type_id) or {}).get("no_default", []):
            return allowed
        return {
            **allowed,
            "hasDefaultValue": True,
            "defaultValue": render.priority(site, seed.DEFAULT_PRIORITY_ID),
        }
    if kind == "select":
        options = seed.FIELDS[field_id]["options"]
        return {"allowedValues": [render.select_option(site, o) for o in options]}
    if kind == "issuetype":
        return {"allowedValues": [issue_type_entry(site, type_id)], "operations": []}
    if kind == "project":
        return {"allowedValues": [render.project_summary(site, project)]}
    if kind == "labels":
        return {"autoCompleteUrl": f"{site}/rest/api/1.0/labels/suggest?query="}
    if kind == "user":
        return {
            "autoCompleteUrl": f"{site}/rest/api/3/user/assignable/search"
            f"?project={quote(project['key'])}&query="
        }
    return {}


def fields_of(site: str, project: dict[str, Any], type_id: str) -> list[dict[str, Any]]:
    field_ids = screen(project, type_id)["fields"]  # type: ignore[index]
    return [field_metadata(site, project, type_id, field_id) for field_id in field_ids]
