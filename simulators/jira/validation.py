"""Jira's own validation of create-issue and add-comment requests (wording: docs/jira-api.md §2.2).

Field errors are collected into ``errors`` keyed by field id, like Jira does; problems that stop
everything (unknown project or issue type, malformed ADF) are raised at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import adf, createmeta, seed
from .errors import JiraError, bad_request, field_errors
from .state import find_project

ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
NOT_ON_SCREEN = "cannot be set. It is not on the appropriate screen, or unknown."
EMPTY_COMMENT = "Comment body can not be empty!"
MAX_RICH_TEXT = 32767
# Jira stores up to 255 characters and refuses 256 with "Summary must be less than 255
# characters." (§2.2): the wording is off by one, the limit is 255 (docs/jira-api.md).
MAX_SUMMARY = 255
MAX_SHORT_TEXT = 255
# Structurally broken ADF: Jira answers a bare INVALID_INPUT (secondary evidence, e.g.
# github.com/nguyenvanduocit/jira-mcp/issues/42); X-Sim-Detail says what is wrong.
INVALID_INPUT = "INVALID_INPUT"


class FieldProblem(Exception):
    """One field's value is unacceptable; the message goes to ``errors[field_id]``."""


def validate_create(body: Any, user: dict[str, Any] | None) -> dict[str, Any]:
    """Validated values for ``SimState.create_issue``; raises ``JiraError`` like Jira would."""
    fields = _merged_fields(body)
    project = _project(fields.get("project"), user)
    if user is not None and user["forbidden"]:
        raise JiraError(403, ["You do not have permission to create issues in this project."])
    type_id = createmeta.find_issue_type(project, fields.get("issuetype"))
    if type_id is None:
        raise field_errors({"issuetype": "Specify a valid issue type"})
    values: dict[str, Any] = {"project": project["key"], "issuetype": type_id, "custom": {}}
    errors = _screen_errors(fields, project, type_id)
    for field_id in createmeta.screen(project, type_id)["fields"]:  # type: ignore[index]
        if field_id in ("project", "issuetype") or field_id in errors:
            continue
        _check_field(field_id, fields, project, type_id, values, errors)
    if errors:
        raise field_errors(errors)
    values["properties"] = entity_properties(body.get("properties"))
    return values


def _merged_fields(body: Any) -> dict[str, Any]:
    """``fields`` plus simple ``update`` operations (``set``; ``add`` for labels)."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    fields = body.get("fields") or {}
    update = body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise bad_request("'fields' and 'update' must be JSON objects.")
    merged = dict(fields)
    for field_id, operations in update.items():
        if field_id in fields:
            raise field_errors(
                {field_id: f"Field '{field_id}' cannot be set in both fields and update."}
            )
        for operation in operations if isinstance(operations, list) else []:
            if isinstance(operation, dict) and "set" in operation:
                merged[field_id] = operation["set"]
            elif isinstance(operation, dict) and "add" in operation:
                current = merged.get(field_id)
                merged[field_id] = [
                    *(current if isinstance(current, list) else []),
                    operation["add"],
                ]
    return merged


def _project(reference: Any, user: dict[str, Any] | None) -> dict[str, Any]:
    """Anonymous callers cannot see any project, so theirs is "not valid" too (§0.1)."""
    project = None
    if isinstance(reference, dict) and user is not None:
        ident = reference.get("id") or reference.get("key")
        project = find_project(ident) if isinstance(ident, str) else None
    if project is None:
        raise field_errors({"project": "Specify a valid project ID or key"})
    return project


def _screen_errors(fields: dict[str, Any], project: dict[str, Any], type_id: str) -> dict[str, str]:
    on_screen = set(createmeta.screen(project, type_id)["fields"])  # type: ignore[index]
    return {
        field_id: f"Field '{field_id}' {NOT_ON_SCREEN}"
        for field_id in fields
        if field_id not in on_screen
    }


def _check_field(
    field_id: str,
    fields: dict[str, Any],
    project: dict[str, Any],
    type_id: str,
    values: dict[str, Any],
    errors: dict[str, str],
) -> None:
    definition = seed.FIELDS[field_id]
    raw = fields.get(field_id)
    if _is_blank(raw):
        if createmeta.is_required(project, type_id, field_id):
            errors[field_id] = _required_message(field_id, definition["name"])
        elif definition["kind"] == "priority":
            values["priority"] = seed.DEFAULT_PRIORITY_ID  # hasDefaultValue (createmeta)
        return
    try:
        checked = CHECKERS[definition["kind"]](raw, field_id, project)
    except FieldProblem as problem:
        errors[field_id] = str(problem)
        return
    if field_id.startswith("customfield_"):
        values["custom"][field_id] = checked
    else:
        values[field_id] = checked


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _required_message(field_id: str, name: str) -> str:
    if field_id == "summary":
        return "You must specify a summary of the issue."
    if field_id.startswith("customfield_"):
        return f"{name} is required."
    return f"Field '{field_id}' is required"


def _check_summary(value: Any, _field_id: str, _project: dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise FieldProblem("Operation value must be a string")
    if "\n" in value or "\r" in value:
        # Wording unverified (docs/jira-api.md §3.2: newline rejection is not settled).
        raise FieldProblem("The summary is invalid because it contains newline characters.")
    if len(value) > MAX_SUMMARY:
        raise FieldProblem("Summary must be less than 255 characters.")
    return value


def _check_rich_text(value: Any, _field_id: str, _project: dict[str, Any]) -> dict[str, Any]:
    if not adf.is_document(value):
        raise FieldProblem(ADF_REQUIRED)
    problem = adf.structure_problem(value)
    if problem:
        raise JiraError(400, [INVALID_INPUT], detail=problem)
    if adf.stored_length(value) > MAX_RICH_TEXT:
        raise FieldProblem(TOO_LONG)
    return value


def _check_priority(value: Any, _field_id: str, _project: dict[str, Any]) -> str:
    if isinstance(value, dict):
        if value.get("id") in seed.PRIORITIES:
            return value["id"]
        for priority_id, priority in seed.PRIORITIES.items():
            if isinstance(value.get("name"), str) and priority["name"] == value["name"]:
                return priority_id
    raise FieldProblem("The priority selected is invalid.")


def _check_labels(value: Any, _field_id: str, _project: dict[str, Any]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise FieldProblem("Labels must be a list of strings.")
    for label in value:
        if any(character.isspace() for character in label):
            raise FieldProblem(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > MAX_SHORT_TEXT:
            raise FieldProblem(
                f"The label '{label}' exceeds the maximum length for a single label "
                "of 255 characters."
            )
    return list(dict.fromkeys(value))


def _check_user(value: Any, _field_id: str, project: dict[str, Any]) -> str:
    """``{"accountId": …}`` or the spec example's ``{"id": …}`` (docs/jira-api.md §1.6)."""
    account_id = None
    if isinstance(value, dict):
        account_id = value.get("accountId") or value.get("id")
    if not isinstance(account_id, str) or account_id not in project["assignable"]:
        raise FieldProblem(f"User '{account_id}' cannot be assigned issues.")
    return account_id


def _check_select(value: Any, field_id: str, _project: dict[str, Any]) -> dict[str, str]:
    options = seed.FIELDS[field_id]["options"]
    if isinstance(value, dict) and "id" in value:
        found = next((o for o in options if o["id"] == value["id"]), None)
        if found is None:
            raise FieldProblem(f"Option id '{value['id']}' is not valid")
        return dict(found)
    if isinstance(value, dict) and "value" in value:
        found = next((o for o in options if o["value"] == value["value"]), None)
        if found is None:
            raise FieldProblem(f"Option value '{value['value']}' is not valid")
        return dict(found)
    raise FieldProblem("Specify the option by 'id' or 'value'.")


def _check_textfield(value: Any, _field_id: str, _project: dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise FieldProblem("Operation value must be a string")
    if len(value) > MAX_SHORT_TEXT:
        raise FieldProblem(
            "The entered text is too long. It exceeds the allowed limit of 255 characters."
        )
    return value


CHECKERS: dict[str, Callable[[Any, str, dict[str, Any]], Any]] = {
    "summary": _check_summary,
    "adf": _check_rich_text,
    "priority": _check_priority,
    "labels": _check_labels,
    "user": _check_user,
    "select": _check_select,
    "textfield": _check_textfield,
}


def validate_comment(body: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """``(ADF body, properties, visibility)`` of an add-comment request, or ``JiraError``."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    doc = body.get("body")
    if doc is None or doc == "":
        raise field_errors({"comment": EMPTY_COMMENT})
    if not adf.is_document(doc):
        raise field_errors({"comment": ADF_REQUIRED})
    problem = adf.structure_problem(doc)
    if problem:
        raise JiraError(400, [INVALID_INPUT], detail=problem)
    if not adf.to_text(doc).strip():
        raise field_errors({"comment": EMPTY_COMMENT})
    if adf.stored_length(doc) > MAX_RICH_TEXT:
        raise field_errors({"comment": TOO_LONG})
    return doc, entity_properties(body.get("properties")), _visibility(body.get("visibility"))


def _visibility(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("group", "role"):
        raise field_errors({"commentLevel": "Specify a valid visibility type: group or role."})
    return value


def entity_properties(value: Any) -> dict[str, Any]:
    """``[{"key", "value"}]`` → ``{key: value}``; keys are 1–255 characters."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise bad_request("'properties' must be a list of {key, value} objects.")
    properties: dict[str, Any] = {}
    for entry in value:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not 0 < len(key) <= MAX_SHORT_TEXT:
            raise bad_request("The property key must be between 1 and 255 characters long.")
        properties[key] = entry.get("value")
    return properties
