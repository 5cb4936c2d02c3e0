"""Atlassian Document Format: minimal structural check and plain-text rendering.

Rules from the ADF JSON schema (docs/jira-api.md §3.1): ``doc`` needs ``version`` 1 and a
``content`` list; ``text`` nodes need a non-empty ``text``; ``codeBlock`` text carries no marks; a
``link`` mark needs ``attrs.href``. Only the node and mark types below are known to the simulator;
the real editor knows more, so an unknown type here is a simulator limitation as much as an error.
"""

from __future__ import annotations

import json
from typing import Any

BLOCK_NODES = {
    "paragraph",
    "heading",
    "codeBlock",
    "bulletList",
    "orderedList",
    "rule",
    "blockquote",
}
INLINE_NODES = {"text", "hardBreak"}
LIST_ITEM_CONTENT = {"paragraph", "bulletList", "orderedList", "codeBlock"}
ALLOWED_CHILDREN: dict[str, set[str]] = {
    "paragraph": INLINE_NODES,
    "heading": INLINE_NODES,
    "codeBlock": {"text"},
    "bulletList": {"listItem"},
    "orderedList": {"listItem"},
    "listItem": LIST_ITEM_CONTENT,
    "blockquote": LIST_ITEM_CONTENT,
    "rule": set(),
    "hardBreak": set(),
    "text": set(),
}
NEEDS_CONTENT = {"bulletList", "orderedList", "listItem", "blockquote"}
NODE_KEYS = {"type", "content", "attrs", "marks", "text"}
MARKS = {"link", "code", "strong", "em", "strike", "underline"}


def is_document(value: Any) -> bool:
    """Looks like an ADF document at all (otherwise Jira says it must be one)."""
    return isinstance(value, dict) and value.get("type") == "doc"


def structure_problem(doc: dict[str, Any]) -> str | None:
    """``None`` when ``doc`` is valid, else a short description of the first problem."""
    extra = set(doc) - {"type", "version", "content"}
    if extra:
        return f"doc: unexpected keys {sorted(extra)}"
    if doc.get("version") != 1:
        return "doc: version must be 1"
    content = doc.get("content")
    if not isinstance(content, list):
        return "doc: content must be a list"
    return _children_problem(content, BLOCK_NODES, "doc")


def _children_problem(children: list[Any], allowed: set[str], path: str) -> str | None:
    for index, child in enumerate(children):
        problem = _node_problem(child, allowed, f"{path}.content[{index}]")
        if problem:
            return problem
    return None


def _node_problem(node: Any, allowed: set[str], path: str) -> str | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return f"{path}: a node must be an object with a type"
    node_type = node["type"]
    if node_type not in allowed:
        return f"{path}: node type {node_type!r} is not allowed here"
    if set(node) - NODE_KEYS:
        return f"{path}: unexpected keys {sorted(set(node) - NODE_KEYS)}"
    problem = _attrs_problem(node, path) or _text_problem(node, path)
    if problem:
        return problem
    content = node.get("content", [])
    if not isinstance(content, list):
        return f"{path}: content must be a list"
    if node_type in NEEDS_CONTENT and not content:
        return f"{path}: {node_type} needs at least one child"
    if node_type == "codeBlock" and any(isinstance(c, dict) and c.get("marks") for c in content):
        return f"{path}: text in a codeBlock cannot have marks"
    return _children_problem(content, ALLOWED_CHILDREN[node_type], path)


def _attrs_problem(node: dict[str, Any], path: str) -> str | None:
    attrs = node.get("attrs", {})
    if not isinstance(attrs, dict):
        return f"{path}: attrs must be an object"
    if node["type"] == "heading" and attrs.get("level") not in range(1, 7):
        return f"{path}: heading needs attrs.level 1-6"
    return None


def _text_problem(node: dict[str, Any], path: str) -> str | None:
    if node["type"] != "text":
        has_text = "text" in node or "marks" in node
        return f"{path}: text or marks on a non-text node" if has_text else None
    if not isinstance(node.get("text"), str) or not node["text"]:
        return f"{path}: text nodes need a non-empty text"
    marks = node.get("marks", [])
    if not isinstance(marks, list):
        return f"{path}: marks must be a list"
    for mark in marks:
        problem = _mark_problem(mark, path)
        if problem:
            return problem
    return None


def _mark_problem(mark: Any, path: str) -> str | None:
    if not isinstance(mark, dict) or mark.get("type") not in MARKS:
        return f"{path}: unknown mark {mark!r}"
    if mark["type"] == "link":
        attrs = mark.get("attrs")
        if not isinstance(attrs, dict) or not isinstance(attrs.get("href"), str):
            return f"{path}: a link mark needs attrs.href"
    return None


def stored_length(doc: Any) -> int:
    """Length Jira's 32,767-character limit is applied to.

    How Cloud counts ADF is UNVERIFIED (docs/jira-api.md §3.2). The document is stored as JSON, so
    the simulator counts its compact JSON form: a body that passes here passes in Jira.
    """
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))


def to_text(doc: Any) -> str:
    """Plain text of a document: blocks on their own lines, links as ``text <href>``."""
    if not isinstance(doc, dict):
        return "" if doc is None else str(doc)
    lines: list[str] = []
    _append_block_text(doc, lines, prefix="")
    return "\n".join(lines).strip("\n")


def _append_block_text(node: dict[str, Any], lines: list[str], prefix: str) -> None:
    node_type = node.get("type")
    children = [c for c in node.get("content", []) if isinstance(c, dict)]
    if node_type in ("paragraph", "heading", "codeBlock"):
        lines.append(prefix + "".join(_inline_text(child) for child in children))
    elif node_type == "rule":
        lines.append(prefix + "----")
    elif node_type in ("bulletList", "orderedList"):
        for number, item in enumerate(children, start=1):
            marker = "- " if node_type == "bulletList" else f"{number}. "
            _append_block_text(item, lines, prefix + marker)
    else:  # doc, listItem, blockquote
        child_prefix = prefix + "> " if node_type == "blockquote" else prefix
        for child in children:
            _append_block_text(child, lines, child_prefix)
            if node_type == "listItem":
                child_prefix = " " * len(prefix)


def _inline_text(node: dict[str, Any]) -> str:
    if node.get("type") == "hardBreak":
        return "\n"
    text = str(node.get("text", ""))
    for mark in node.get("marks", []) or []:
        if isinstance(mark, dict) and mark.get("type") == "link":
            href = (mark.get("attrs") or {}).get("href")
            if href and href != text:
                text = f"{text} <{href}>"
    return text
