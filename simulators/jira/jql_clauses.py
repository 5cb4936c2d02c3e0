"""Meaning of single JQL clauses (see ``jql.py`` for the supported subset and its limits)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import adf, seed
from .errors import JiraError, bad_request
from .state import ISSUE_KEY_PATTERN

Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class SearchContext:
    """What a clause needs to know: key resolution, visibility and the unknown-key policy."""

    resolve_key: Callable[[str], str | None]  # issue key or id -> issue id (None if unseen)
    can_browse: bool
    unknown_keys: str = "omit"  # or "error"
    current_account: str | None = None


def _syntax(message: str) -> JiraError:
    return bad_request(f"Error in the JQL Query: {message}")


def build_clause(
    field: str, operator: str, values: list[str | None], context: SearchContext
) -> Predicate:
    if field in ("text", "summary", "description", "comment"):
        matcher = _text_matcher(field, values[0] or "")
        return matcher if operator == "~" else lambda issue: not matcher(issue)
    if operator in ("is", "is not"):
        if values != [None]:
            raise _syntax("Expecting 'EMPTY' after 'IS'.")
        return (lambda i: not i[field]) if operator == "is" else (lambda i: bool(i[field]))
    accepted = _ACCEPTED[field](values, context)
    extract = _EXTRACT[field]
    if field == "labels":
        present = lambda issue: bool(accepted & set(issue["labels"]))  # noqa: E731
    else:
        present = lambda issue: extract(issue) in accepted  # noqa: E731
    return present if operator in ("=", "in") else lambda issue: not present(issue)


def _accepted_issue_ids(values: list[str | None], context: SearchContext) -> set[str]:
    ids = set()
    for value in values:
        if value is None or not (ISSUE_KEY_PATTERN.match(value) or value.isdigit()):
            raise bad_request(f"The issue key '{value}' for field 'key' is invalid.")
        issue_id = context.resolve_key(value) if context.can_browse else None
        if issue_id is None and context.unknown_keys == "error":
            raise bad_request(f"An issue with key '{value}' does not exist for field 'key'.")
        if issue_id is not None:
            ids.add(issue_id)
    return ids


def _accepted_records(
    jql_field: str,
    records: dict[Any, dict[str, Any]],
    attributes: tuple[str, ...],
    result: str = "id",
    needs_browse: bool = False,
) -> Callable[[list[str | None], SearchContext], set[Any]]:
    """Values naming seed records by any of ``attributes`` (case-insensitively), accepted as
    each record's ``result``; an unknown value (or, if ``needs_browse``, no browse permission)
    is Jira's "does not exist" 400."""

    def accepted(values: list[str | None], context: SearchContext) -> set[Any]:
        found = set()
        for value in values:
            record = _lookup(value, records.values(), attributes)
            if record is None or (needs_browse and not context.can_browse):
                raise bad_request(
                    f"The value '{value}' does not exist for the field '{jql_field}'."
                )
            found.add(record[result])
        return found

    return accepted


def _accepted_labels(values: list[str | None], _context: SearchContext) -> set[str]:
    return {value for value in values if value is not None}


def _accepted_users(values: list[str | None], _context: SearchContext) -> set[str | None]:
    """accountIds (``currentUser()`` already resolved); Jira matches display names too."""
    return set(values)


def _lookup(value: str | None, records: Any, attributes: tuple[str, ...]) -> dict[str, Any] | None:
    wanted = (value or "").lower()
    for record in records:
        if any(str(record[attribute]).lower() == wanted for attribute in attributes):
            return record
    return None


_ACCEPTED: dict[str, Callable[[list[str | None], SearchContext], set[Any]]] = {
    "key": _accepted_issue_ids,
    "project": _accepted_records(
        "project", seed.PROJECTS, ("key", "id", "name"), result="key", needs_browse=True
    ),
    "status": _accepted_records("status", seed.STATUSES, ("id", "name")),
    "statuscategory": _accepted_records(
        "statusCategory", seed.STATUS_CATEGORIES, ("id", "key", "name")
    ),
    "issuetype": _accepted_records("issuetype", seed.ISSUE_TYPES, ("id", "name")),
    "labels": _accepted_labels,
    "assignee": _accepted_users,
    "reporter": _accepted_users,
    "creator": _accepted_users,
}
_EXTRACT: dict[str, Callable[[dict[str, Any]], Any]] = {
    "key": lambda issue: issue["id"],
    "project": lambda issue: issue["project"],
    "status": lambda issue: issue["status"],
    "statuscategory": lambda issue: seed.STATUSES[issue["status"]]["category"],
    "issuetype": lambda issue: issue["issuetype"],
    "labels": lambda issue: issue["labels"],
    "assignee": lambda issue: issue["assignee"],
    "reporter": lambda issue: issue["reporter"],
    # The simulator never changes a reporter, so the creator is the reporter.
    "creator": lambda issue: issue.get("creator", issue["reporter"]),
}


def _text_matcher(field: str, query: str) -> Predicate:
    phrase = query.strip()
    if len(phrase) > 1 and phrase.startswith('"') and phrase.endswith('"'):
        needle = " ".join(_words(phrase[1:-1]))
        return lambda issue: needle in " ".join(_words(searchable_text(issue, field)))
    terms = [term.lower() for term in re.findall(r"[\w*]+", query)]

    def matches(issue: dict[str, Any]) -> bool:
        words = {_stem(word) for word in _words(searchable_text(issue, field))}
        return all(_term_matches(term, words) for term in terms)

    return matches


def _term_matches(term: str, words: set[str]) -> bool:
    if term.endswith("*"):
        prefix = term.rstrip("*")
        return any(word.startswith(prefix) for word in words)
    return _stem(term) in words


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def searchable_text(issue: dict[str, Any], field: str) -> str:
    parts = []
    if field in ("text", "summary"):
        parts.append(issue["summary"])
    if field in ("text", "description"):
        parts.append(adf.to_text(issue["description"]))
    if field in ("text", "comment"):
        parts.extend(adf.to_text(comment["body"]) for comment in issue["comments"])
    if field == "text":
        parts.extend(v for v in issue["custom"].values() if isinstance(v, str))
    return "\n".join(parts)
