"""Check JSON bodies against Atlassian's official Jira Cloud OpenAPI description (our subset).

``validate_request_body("createIssue", body)`` returns a list of human-readable violations
(empty = valid). Other test suites (e.g. the product's Jira client tests) import it to prove
that what they send matches the official schema; the simulator uses it to record violations.

The description is OpenAPI 3.0, whose schema dialect is *almost* JSON Schema draft 4. The
differences that matter here are bridged when the schemas are loaded:

- ``nullable: true`` becomes a ``"null"`` member of ``type`` (and of ``enum``);
- ``readOnly`` properties are "SHOULD NOT be sent" in requests and their ``required`` applies
  to responses only; ``writeOnly`` is the mirror image (OpenAPI 3.0.3 §4.7.25, Schema Object).
  So in request direction ``readOnly`` properties are dropped from ``required`` and sending one
  is reported; in response direction the same is done for ``writeOnly``.

Formats (``int32``, ``date-time`` …) are not asserted, as JSON Schema leaves them advisory.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import jsonschema
from jsonschema import Draft4Validator, ValidationError

SUBSET_PATH = Path(__file__).with_name("jira-openapi-subset.json")
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
MAX_MESSAGE_CHARS = 300

Direction = Literal["request", "response"]


@functools.cache
def load_subset() -> dict[str, Any]:
    """The subset description as written by ``extract_openapi_subset.py``."""
    return json.loads(SUBSET_PATH.read_text(encoding="utf-8"))


@functools.cache
def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """``operationId -> (METHOD, path template, operation object)``."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in load_subset()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                found[item[method]["operationId"]] = (method.upper(), path, item[method])
    return found


def validate_request_body(operation_id: str, body: Any) -> list[str]:
    """Violations of the operation's request-body schema; ``body`` is the decoded JSON.

    ``None`` means "no body". An unknown operationId raises ``KeyError`` (a typo in a test
    must not pass silently).
    """
    _method, _path, operation = operations()[operation_id]
    request_body = operation.get("requestBody")
    if request_body is None:
        return [] if body is None else ["this operation takes no request body"]
    if body is None:
        return ["a request body is required"] if request_body.get("required") else []
    schema = request_body["content"].get("application/json", {}).get("schema")
    if schema is None:
        return []
    return _violations(_validator(operation_id, "request", "body"), body)


def validate_response_body(operation_id: str, status: int, body: Any) -> list[str]:
    """Violations of the documented response schema for ``status`` (or ``default``)."""
    _method, _path, operation = operations()[operation_id]
    responses = operation.get("responses", {})
    response = responses.get(str(status), responses.get("default"))
    if response is None:
        return [f"status {status} is not documented for {operation_id}"]
    if "application/json" not in response.get("content", {}):
        return []
    return _violations(_validator(operation_id, "response", str(status)), body)


def _violations(validator: Draft4Validator, body: Any) -> list[str]:
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    return [_describe(error) for error in errors]


def _describe(error: ValidationError) -> str:
    message = error.message
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return f"{error.json_path}: {message}"


@functools.cache
def _validator(operation_id: str, direction: Direction, which: str) -> Draft4Validator:
    """A validator whose root document carries the converted ``components`` for ``$ref``s."""
    _method, _path, operation = operations()[operation_id]
    if direction == "request":
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
    else:
        responses = operation["responses"]
        response = responses.get(which, responses.get("default"))
        schema = response["content"]["application/json"]["schema"]
    root = {
        "allOf": [to_json_schema(schema, direction)],
        "components": {"schemas": _converted_schemas(direction)},
    }
    validator_class = RequestValidator if direction == "request" else Draft4Validator
    return validator_class(root)


@functools.cache
def _converted_schemas(direction: Direction) -> dict[str, Any]:
    schemas = load_subset()["components"].get("schemas", {})
    return {name: to_json_schema(schema, direction) for name, schema in schemas.items()}


def to_json_schema(schema: Any, direction: Direction) -> Any:
    """Translate one OpenAPI 3.0 Schema Object (recursively) into JSON Schema draft 4."""
    if not isinstance(schema, dict):
        return schema
    converted = dict(schema)
    for keyword in ("items", "not", "additionalProperties"):
        if isinstance(converted.get(keyword), dict):
            converted[keyword] = to_json_schema(converted[keyword], direction)
    for keyword in ("allOf", "anyOf", "oneOf"):
        if isinstance(converted.get(keyword), list):
            converted[keyword] = [to_json_schema(part, direction) for part in converted[keyword]]
    properties = converted.get("properties")
    if isinstance(properties, dict):
        converted["properties"] = {
            name: to_json_schema(sub, direction) for name, sub in properties.items()
        }
        if isinstance(converted.get("required"), list):
            converted["required"] = _required_in(direction, converted["required"], properties)
            if not converted["required"]:
                del converted["required"]  # draft 4 forbids an empty "required"
    if converted.get("nullable") is True:
        _allow_null(converted)
    return converted


def _required_in(direction: Direction, required: list[str], properties: dict) -> list[str]:
    skipped = "readOnly" if direction == "request" else "writeOnly"
    return [name for name in required if not properties.get(name, {}).get(skipped)]


def _allow_null(schema: dict[str, Any]) -> None:
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def _reject_read_only(
    validator: Draft4Validator, read_only: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """``readOnly`` properties "SHOULD NOT be sent as part of the request" (OpenAPI 3.0)."""
    if read_only is True:
        yield ValidationError("is read-only and must not be sent in a request")


RequestValidator = jsonschema.validators.extend(Draft4Validator, {"readOnly": _reject_read_only})
