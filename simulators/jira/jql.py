"""A small JQL subset: parse once, then filter and sort issue records.

Supported: ``AND``/``OR``/``NOT``/parentheses; ``key``/``issuekey``/``id`` (``= != in, not in``),
``project``, ``status``, ``statusCategory``, ``issuetype``/``type``, ``labels``, ``assignee``,
``reporter`` and ``creator`` (accountIds or ``currentUser()``; also ``is [not] EMPTY``);
``text``/``summary``/``description``/``comment`` with ``~ !~`` (every word must occur,
case-insensitive, ``*`` suffix wildcard, a naive plural-``s`` stem instead of Jira's stemmer);
``ORDER BY`` key/id/created/updated/summary.
Error wording follows Jira's.

Unknown keys in ``key`` clauses: docs/jira-api.md §1.7 does not settle what Cloud's ``/search/jql``
does, so by default they are silently left out; ``unknown_keys="error"`` reproduces the classic
Jira answer "An issue with key 'X' does not exist for field 'key'." (switch via ``POST
/_sim/settings``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import JiraError, bad_request
from .jql_clauses import Predicate, SearchContext, build_clause

TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|!~|=|~|\(|\)|,)"""
    r"""|(?P<word>[^\s=!~(),"']+))"""
)
KEYWORDS = {"and", "or", "not", "in", "is", "order", "by", "asc", "desc", "empty", "null"}
LIST_OPERATORS = {"in", "not in"}
FIELD_OPERATORS: dict[str, set[str]] = {
    "key": {"=", "!=", "in", "not in"},
    "project": {"=", "!=", "in", "not in"},
    "status": {"=", "!=", "in", "not in"},
    "statuscategory": {"=", "!=", "in", "not in"},
    "issuetype": {"=", "!=", "in", "not in"},
    "labels": {"=", "!=", "in", "not in", "is", "is not"},
    "assignee": {"=", "!=", "in", "not in", "is", "is not"},
    "reporter": {"=", "!=", "in", "not in", "is", "is not"},
    "creator": {"=", "!=", "in", "not in"},
    "text": {"~", "!~"},
    "summary": {"~", "!~"},
    "description": {"~", "!~"},
    "comment": {"~", "!~"},
}
FIELD_ALIASES = {"issuekey": "key", "id": "key", "type": "issuetype"}
SORTABLE = {"key", "id", "issuekey", "created", "updated", "summary"}
CURRENT_USER_ANONYMOUS = "\0anonymous"  # matches nobody
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


@dataclass
class Token:
    kind: str  # "string", "op", "word"
    text: str
    position: int

    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "word" and self.text.lower() in KEYWORDS else None


class Query:
    def __init__(self, predicate: Predicate, order: list[tuple[str, bool]]) -> None:
        self.predicate = predicate
        self.order = order  # (field, descending)

    def run(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = [issue for issue in issues if self.predicate(issue)]
        for field, descending in reversed(self.order or [("created", True)]):
            found.sort(key=_sort_key(field), reverse=descending)
        return found


def _sort_key(field: str) -> Callable[[dict[str, Any]], Any]:
    if field in ("key", "issuekey"):
        return lambda issue: (issue["project"], int(issue["key"].split("-")[1]))
    if field == "id":
        return lambda issue: int(issue["id"])
    if field == "created":
        return lambda issue: (issue["created"], int(issue["id"]))
    return lambda issue: issue[field]


def tokenize(jql: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(jql):
        if jql[position:].strip() == "":
            break
        match = TOKEN.match(jql, position)
        if match is None:
            raise _syntax(
                f"The character '{jql[position:].lstrip()[0]}' is a reserved JQL character."
            )
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


def _syntax(message: str) -> JiraError:
    return bad_request(f"Error in the JQL Query: {message}")


def _no_such_field(name: str) -> str:
    return f"Field '{name}' does not exist or you do not have permission to view it."


def compile_jql(jql: str, context: SearchContext) -> Query:
    parser = _Parser(tokenize(jql or ""), context)
    return parser.parse()


class _Parser:
    def __init__(self, tokens: list[Token], context: SearchContext) -> None:
        self.tokens = tokens
        self.index = 0
        self.context = context

    # --- token helpers -------------------------------------------------------------------

    def peek(self, offset: int = 0) -> Token | None:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise _syntax("Expecting more input at the end of the query.")
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.keyword() in words

    def expect_op(self, text: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            raise _syntax(f"Expecting '{text}' but got '{token.text}'.")

    # --- grammar -------------------------------------------------------------------------

    def parse(self) -> Query:
        if self.peek() is None or self.at_keyword("order"):
            raise bad_request(UNBOUNDED)
        predicate = self.expression()
        order = self.order_by() if self.at_keyword("order") else []
        if self.peek() is not None:
            raise _syntax(f"Expecting either 'OR' or 'AND' but got '{self.peek().text}'.")  # type: ignore[union-attr]
        return Query(predicate, order)

    def expression(self) -> Predicate:
        return self._joined("or", self.term, any)

    def term(self) -> Predicate:
        return self._joined("and", self.factor, all)

    def _joined(
        self,
        keyword: str,
        parse_part: Callable[[], Predicate],
        combine: Callable[[Iterable[bool]], bool],
    ) -> Predicate:
        """``part (keyword part)*``, true when ``combine`` (any/all) of the parts is."""
        parts = [parse_part()]
        while self.at_keyword(keyword):
            self.take()
            parts.append(parse_part())
        return parts[0] if len(parts) == 1 else lambda issue: combine(p(issue) for p in parts)

    def factor(self) -> Predicate:
        if self.at_keyword("not"):
            self.take()
            inner = self.factor()
            return lambda issue: not inner(issue)
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == "(":
            self.take()
            inner = self.expression()
            self.expect_op(")")
            return inner
        return self.clause()

    def clause(self) -> Predicate:
        field_token = self.take()
        if field_token.kind == "op" or field_token.keyword():
            raise _syntax(f"Expecting a field name but got '{field_token.text}'.")
        name = field_token.text.lower()
        field = FIELD_ALIASES.get(name, name)
        if field not in FIELD_OPERATORS:
            raise JiraError(
                400,
                [_no_such_field(field_token.text)],
                detail=f"the simulator supports only these JQL fields: {sorted(FIELD_OPERATORS)}",
            )
        operator = self.operator()
        if operator not in FIELD_OPERATORS[field]:
            raise bad_request(
                f"The operator '{operator.upper()}' is not supported "
                f"by the '{field_token.text}' field."
            )
        values = self.values(operator)
        return build_clause(field, operator, values, self.context)

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op" and token.text in ("=", "!=", "~", "!~"):
            return token.text
        if token.keyword() == "in":
            return "in"
        if token.keyword() == "not" and self.at_keyword("in"):
            self.take()
            return "not in"
        if token.keyword() == "is":
            if self.at_keyword("not"):
                self.take()
                return "is not"
            return "is"
        raise _syntax(f"Expecting operator but got '{token.text}'.")

    def values(self, operator: str) -> list[str | None]:
        if operator not in LIST_OPERATORS:
            return [self.value()]
        self.expect_op("(")
        values = [self.value()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.take()
            values.append(self.value())
        self.expect_op(")")
        return values

    def value(self) -> str | None:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "op" or token.keyword() in ("and", "or", "order"):
            raise _syntax(f"Expecting a value but got '{token.text}'.")
        if token.keyword() in ("empty", "null"):
            return None
        if self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
            return self.function(token)
        return token.text

    def function(self, name: Token) -> str | None:
        """Only ``currentUser()`` is known; it stands for the caller's accountId."""
        self.expect_op("(")
        self.expect_op(")")
        if name.text.lower() != "currentuser":
            raise bad_request(f"Unable to find JQL function '{name.text}()'.")
        return self.context.current_account or CURRENT_USER_ANONYMOUS

    def order_by(self) -> list[tuple[str, bool]]:
        self.take()
        if not self.at_keyword("by"):
            raise _syntax("Expecting 'BY' after 'ORDER'.")
        self.take()
        order = [self.sort_item()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.take()
            order.append(self.sort_item())
        return order

    def sort_item(self) -> tuple[str, bool]:
        field = self.take().text.lower()
        if field not in SORTABLE:
            raise bad_request(
                f"Field '{field}' does not exist or you do not have permission to view it."
            )
        descending = False
        if self.at_keyword("asc", "desc"):
            descending = self.take().text.lower() == "desc"
        return field, descending
