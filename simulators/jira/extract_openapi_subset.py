"""Regenerate ``jira-openapi-subset.json`` from Atlassian's full Jira Cloud OpenAPI description.

The simulator validates request bodies against the official schema, but the full description
is 2.4 MB; this keeps only the operations the product calls and the components they reference
(transitively), plus an attribution notice (the source is Apache-2.0, by Atlassian).

Usage: ``python -m simulators.jira.extract_openapi_subset [--source PATH] [--output PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# The full description is published at OFFICIAL_URL; save it there (or point
# JIRA_OPENAPI_SOURCE at a copy) to regenerate or check the subset.
OFFICIAL_URL = "https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json"
DEFAULT_SOURCE = Path(
    os.environ.get("JIRA_OPENAPI_SOURCE", REPO_ROOT / "var" / "jira-cloud-platform-openapi.json")
)
DEFAULT_OUTPUT = Path(__file__).resolve().with_name("jira-openapi-subset.json")

OPERATION_IDS: tuple[str, ...] = (
    "getCurrentUser",
    "getMyPermissions",
    "getProject",
    "searchProjects",
    "getCreateIssueMetaIssueTypes",
    "getCreateIssueMetaIssueTypeId",
    "findAssignableUsers",
    "createIssue",
    "getIssue",
    "getComments",
    "addComment",
    "searchAndReconsileIssuesUsingJql",
    "searchAndReconsileIssuesUsingJqlPost",
)
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def select_paths(spec: dict[str, Any], operation_ids: tuple[str, ...]) -> dict[str, Any]:
    """Keep only the wanted operations (and their path-level keys such as ``parameters``)."""
    selected: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        operations = {
            method: op
            for method, op in item.items()
            if method in HTTP_METHODS and op.get("operationId") in operation_ids
        }
        if operations:
            shared = {key: value for key, value in item.items() if key not in HTTP_METHODS}
            selected[path] = {**shared, **operations}
    found = {op["operationId"] for item in selected.values() for op in _operations(item)}
    missing = set(operation_ids) - found
    if missing:
        raise SystemExit(f"operations not found in the source description: {sorted(missing)}")
    return selected


def _operations(path_item: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for method, op in path_item.items() if method in HTTP_METHODS]


def collect_refs(node: Any, found: set[str]) -> None:
    """Add every ``#/components/...`` reference inside ``node`` to ``found``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            collect_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            collect_refs(value, found)


def resolve_pointer(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def referenced_components(spec: dict[str, Any], roots: Any) -> dict[str, dict[str, Any]]:
    """Follow ``$ref`` links transitively from ``roots``; return them grouped by section."""
    pending: set[str] = set()
    collect_refs(roots, pending)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        collect_refs(resolve_pointer(spec, ref), pending)
    components: dict[str, dict[str, Any]] = {}
    for ref in sorted(seen):
        _, _, section, name = ref.split("/", 3)
        components.setdefault(section, {})[name] = resolve_pointer(spec, ref)
    return components


def used_security_schemes(spec: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """Security requirements name schemes instead of referencing them, so collect them by name."""
    names = {
        name
        for item in paths.values()
        for op in _operations(item)
        for requirement in op.get("security", spec.get("security", []))
        for name in requirement
    }
    schemes = spec["components"].get("securitySchemes", {})
    return {name: schemes[name] for name in sorted(names) if name in schemes}


def used_tags(spec: dict[str, Any], paths: dict[str, Any]) -> list[dict[str, Any]]:
    names = {
        tag for item in paths.values() for op in _operations(item) for tag in op.get("tags", [])
    }
    return [tag for tag in spec.get("tags", []) if tag.get("name") in names]


def notice(spec: dict[str, Any], source: Path) -> dict[str, Any]:
    license_info = spec["info"].get("license", {})
    return {
        "attribution": "The Jira Cloud platform REST API description, copyright Atlassian.",
        "source": "https://developer.atlassian.com/cloud/jira/platform/swagger-v3.v3.json",
        "source_file": source.name,
        "source_version": spec["info"].get("version"),
        "modifications": (
            "Derived subset: only the operations listed in x-operations and the components they "
            "reference transitively were kept; nothing else was changed. Regenerate with "
            "simulators/jira/extract_openapi_subset.py."
        ),
        "license": license_info.get("name", "Apache 2.0"),
        "license_url": license_info.get("url", "http://www.apache.org/licenses/LICENSE-2.0.html"),
    }


def build_subset(spec: dict[str, Any], source: Path) -> dict[str, Any]:
    paths = select_paths(spec, OPERATION_IDS)
    components = referenced_components(spec, paths)
    components["securitySchemes"] = used_security_schemes(spec, paths)
    return {
        "openapi": spec["openapi"],
        "x-notice": notice(spec, source),
        "x-operations": list(OPERATION_IDS),
        "info": spec["info"],
        "servers": spec.get("servers", []),
        "tags": used_tags(spec, paths),
        "paths": paths,
        "components": components,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    spec = json.loads(args.source.read_text(encoding="utf-8"))
    subset = build_subset(spec, args.source)
    text = json.dumps(subset, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    schemas = len(subset["components"].get("schemas", {}))
    paths = len(subset["paths"])
    print(f"wrote {args.output} ({len(text):,} bytes, {paths} paths, {schemas} schemas)")


if __name__ == "__main__":
    main()
