"""Atlassian Document Format (ADF): build it, turn our plain text into it, read it back.

Jira Cloud v3 takes descriptions and comments as ADF only (docs/jira-api.md §1.6, §3.1).
Structure: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/ ;
schema: http://go.atlassian.com/adf-json-schema. Rules that shape this module:

- a text node's ``text`` has ``minLength 1``: no empty text nodes, ever (an empty paragraph
  simply has no ``content``);
- text inside a ``codeBlock`` carries no marks; ``code`` may only be combined with ``link``;
- user text stays text: it is never parsed into nodes other than paragraphs, hard breaks,
  code blocks, inline code and links to http(s) URLs.

Output is deterministic (fixed key order), so tests compare ``json.dumps`` byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

Node = dict[str, Any]

FENCE = "```"
FENCE_LANGUAGE = re.compile(r"[A-Za-z0-9_+#.-]{1,30}")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
URL_TRAILING_PUNCTUATION = ".,;:!?'\"]}>"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- builders -------------------------------------------------------------------------


def adf_doc(*blocks: Node) -> Node:
    return {"version": 1, "type": "doc", "content": list(blocks)}


def paragraph(*inlines: Node) -> Node:
    return {"type": "paragraph", "content": list(inlines)} if inlines else {"type": "paragraph"}


def heading(level: int, *inlines: Node) -> Node:
    if not 1 <= level <= 6:
        raise ValueError("ADF headings have levels 1 to 6.")
    node: Node = {"type": "heading", "attrs": {"level": level}}
    return {**node, "content": list(inlines)} if inlines else node


def text(value: str, *marks: Node) -> Node:
    if not value:
        raise ValueError("ADF text nodes cannot be empty.")
    node: Node = {"type": "text", "text": value}
    return {**node, "marks": list(marks)} if marks else node


def strong(value: str) -> Node:
    return text(value, {"type": "strong"})


def inline_code(value: str) -> Node:
    return text(value, {"type": "code"})


def link_mark(href: str) -> Node:
    if not is_web_url(href):
        raise ValueError("ADF links here must be http(s) URLs.")
    return {"type": "link", "attrs": {"href": href}}


def link(value: str, href: str) -> Node:
    return text(value, link_mark(href))


def hard_break() -> Node:
    return {"type": "hardBreak"}


def code_block(value: str, language: str | None = None) -> Node:
    node: Node = {"type": "codeBlock"}
    if language:
        node["attrs"] = {"language": language}
    return {**node, "content": [text(value)]} if value else node


def bullet_list(*items: Iterable[Node]) -> Node:
    """One list item per iterable of inline nodes."""
    if not items:
        raise ValueError("ADF lists need at least one item.")
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [paragraph(*item)]} for item in items],
    }


def is_web_url(href: str) -> bool:
    try:
        parts = urlsplit(href)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


# --- plain text -> ADF -------------------------------------------------------------------


def text_to_adf(value: str) -> Node:
    """Our plain text as ADF: paragraphs, hard breaks, ``` code blocks, `code`, web links."""
    blocks: list[Node] = []
    for kind, lines, language in _sections(_clean(value)):
        if kind == "code":
            blocks.append(code_block("\n".join(lines), language))
        else:
            blocks.extend(_paragraph_from_lines(para) for para in _paragraphs(lines))
    return adf_doc(*blocks)


def _clean(value: str) -> str:
    unified = value.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARACTERS.sub("", unified)


def _sections(value: str) -> Iterator[tuple[str, list[str], str | None]]:
    """Runs of prose and fenced code, in order; an unclosed fence runs to the end."""
    prose: list[str] = []
    code: list[str] | None = None
    language: str | None = None
    for line in value.split("\n"):
        if code is None and _is_opening_fence(line):
            yield "prose", prose, None
            prose, code = [], []
            info = line.lstrip()[len(FENCE) :].strip()
            language = info if FENCE_LANGUAGE.fullmatch(info) else None
        elif code is not None and line.strip() == FENCE:
            yield "code", code, language
            code = None
        elif code is not None:
            code.append(line)
        else:
            prose.append(line)
    if code is not None:
        yield "code", code, language
    yield "prose", prose, None


def _is_opening_fence(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(FENCE) and "`" not in stripped[len(FENCE) :]


def _paragraphs(lines: list[str]) -> Iterator[list[str]]:
    """Groups of lines separated by blank lines."""
    group: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            group.append(line)
        elif group:
            yield group
            group = []


def _paragraph_from_lines(lines: list[str]) -> Node:
    inlines: list[Node] = []
    for index, line in enumerate(lines):
        if index:
            inlines.append(hard_break())
        inlines.extend(_inline_nodes(line))
    return paragraph(*inlines)


def _inline_nodes(line: str) -> list[Node]:
    """Text of one line: `code` spans first, then web links in what is left."""
    nodes: list[Node] = []
    position = 0
    for match in INLINE_CODE.finditer(line):
        nodes.extend(_linked_text(line[position : match.start()]))
        nodes.append(inline_code(match.group(1)))
        position = match.end()
    nodes.extend(_linked_text(line[position:]))
    return _merge_plain_text(nodes)


def _linked_text(value: str) -> list[Node]:
    nodes: list[Node] = []
    position = 0
    for match in URL.finditer(value):
        url = _trim_url(match.group(0))
        if not is_web_url(url):
            continue
        end = match.start() + len(url)
        nodes.extend([text(value[position : match.start()])] if match.start() > position else [])
        nodes.append(link(url, url))
        position = end
    nodes.extend([text(value[position:])] if value[position:] else [])
    return nodes


def _trim_url(url: str) -> str:
    """Drop sentence punctuation after a URL, and a ``)`` it did not open."""
    while url and (
        url[-1] in URL_TRAILING_PUNCTUATION or (url[-1] == ")" and url.count("(") < url.count(")"))
    ):
        url = url[:-1]
    return url


def _merge_plain_text(nodes: list[Node]) -> list[Node]:
    merged: list[Node] = []
    for node in nodes:
        if merged and _is_plain_text(node) and _is_plain_text(merged[-1]):
            merged[-1] = text(merged[-1]["text"] + node["text"])
        else:
            merged.append(node)
    return merged


def _is_plain_text(node: Node) -> bool:
    return node.get("type") == "text" and not node.get("marks")


# --- ADF -> plain text -------------------------------------------------------------------


def adf_to_text(document: Any) -> str:
    """Readable plain text of an ADF document (or of a v2-style plain string body)."""
    if isinstance(document, str):
        return document
    if not isinstance(document, dict):
        return ""
    return _block_text(document).strip("\n")


def _block_text(node: Node) -> str:
    kind = node.get("type")
    children = [child for child in node.get("content") or () if isinstance(child, dict)]
    if kind in ("doc", "listItem", "blockquote", "panel", "expand", "tableCell", "tableHeader"):
        separator = "\n" if kind == "listItem" else "\n\n"
        inner = separator.join(filter(None, (_block_text(child) for child in children)))
        return (
            "\n".join("> " + line for line in inner.split("\n")) if kind == "blockquote" else inner
        )
    if kind in ("bulletList", "orderedList"):
        return "\n".join(
            ("- " if kind == "bulletList" else f"{number}. ") + _block_text(child)
            for number, child in enumerate(children, start=1)
        )
    if kind == "codeBlock":
        language = (node.get("attrs") or {}).get("language") or ""
        code = "".join(_inline_text(child) for child in children)
        return f"{FENCE}{language}\n{code}\n{FENCE}"
    if kind == "rule":
        return "---"
    if kind in ("paragraph", "heading"):
        return "".join(_inline_text(child) for child in children)
    return "\n".join(filter(None, (_block_text(child) for child in children)))


def _inline_text(node: Node) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return _marked_text(node)
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return attrs.get("text") or "@" + str(attrs.get("id", ""))
    if kind == "emoji":
        return attrs.get("text") or attrs.get("shortName", "")
    if kind in ("inlineCard", "blockCard"):
        return attrs.get("url", "")
    if kind in ("status", "date"):
        return str(attrs.get("text") or attrs.get("timestamp") or "")
    return _block_text(node)


def _marked_text(node: Node) -> str:
    value = str(node.get("text", ""))
    marks = {mark.get("type"): mark for mark in node.get("marks") or () if isinstance(mark, dict)}
    if "code" in marks:
        value = f"`{value}`"
    href = (marks.get("link") or {}).get("attrs", {}).get("href")
    return f"{value} ({href})" if href and href != node.get("text") else value
