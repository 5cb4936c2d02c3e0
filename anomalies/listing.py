"""The anomaly list at scale: capped per-status counts and keyset pages.

Counting every matching anomaly per status is a full scan at a million rows, and an OFFSET
page walks every row before it. Instead each status is counted only up to `COUNT_CAP` (an
index range of at most that many entries; the page says "1,000+" beyond), and pages are
cut by the sort key of a row (`after`/`before` cursors, and `page=last` from the other end),
so page 1,000 costs what page 1 costs. See docs/performance.md.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from .models import Status

COUNT_CAP = 1_000
CURSOR_PARAMS = ("after", "before", "page", "p")


@dataclass(frozen=True)
class CappedCount:
    """How many match, exactly up to the cap; `exact` is False past it ("1,000+")."""

    value: int
    exact: bool

    def __add__(self, other: "CappedCount") -> "CappedCount":
        return CappedCount(self.value + other.value, self.exact and other.exact)

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


# Stands for the status in the compiled count query; no anomaly has it.
_ANY_STATUS = "\x00status\x00"


def count_by_status(anomalies: QuerySet, *, sampled: bool = False) -> dict[str, CappedCount]:
    """Each status's count, capped, all in one query of one bounded subquery per status.

    `sampled` (searches, where each status's subquery would search again): the statuses of
    the first COUNT_CAP + 1 matches; past the cap each count is a lower bound ("n+").
    """
    if sampled:
        return _count_sample(anomalies)
    # The ORM compiles the capped subquery once, with a stand-in for the status, and each
    # status reuses it with its own value: compiling it per status (with the visibility
    # subquery) cost more than running all six counts.
    capped = anomalies.filter(status=_ANY_STATUS).order_by().values("pk")[: COUNT_CAP + 1]
    try:
        sql, sub_params = capped.query.sql_with_params()
    except EmptyResultSet:  # e.g. a user who sees no datastore
        return {status.value: CappedCount(0, True) for status in Status}
    parts, params = [], []
    for status in Status:
        # The SQL is the ORM's own compilation; every value stays a bound parameter.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{len(parts)})")  # noqa: S608
        params.extend(status.value if value == _ANY_STATUS else value for value in sub_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        values = cursor.fetchone()
    return {
        status.value: CappedCount(min(n, COUNT_CAP), n <= COUNT_CAP)
        for status, n in zip(Status, values, strict=True)
    }


def _count_sample(anomalies: QuerySet) -> dict[str, CappedCount]:
    statuses = list(anomalies.order_by().values_list("status", flat=True)[: COUNT_CAP + 1])
    exact = len(statuses) <= COUNT_CAP
    return {status.value: CappedCount(statuses.count(status.value), exact) for status in Status}


def total(counts: dict[str, CappedCount], statuses) -> CappedCount:
    found = CappedCount(0, True)
    for status in statuses:
        found = found + counts[status]
    return found


def encode_cursor(row, sort_field: str) -> str:
    value = getattr(row, sort_field)
    value = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{value}~{row.pk}"


def decode_cursor(cursor: str, sort_field: str):
    """(sort value, id) of a cursor, or None when it is not one of ours."""
    value, _, pk = cursor.rpartition("~")
    if not pk.isdigit() or len(pk) > 18:
        return None
    if sort_field == "detected_at":
        try:
            parsed = parse_datetime(value) if value else None
        except ValueError:  # well formed, impossible (month 13)
            parsed = None
    elif sort_field == "status":
        parsed = value if value in Status.values else None
    else:
        parsed = int(value) if value.isdigit() and len(value) <= 18 else None
    return None if parsed is None else (parsed, int(pk))


def _beyond(cursor: tuple, sort_field: str, descending: bool) -> Q:
    """Rows after the cursor in the given direction: a range the sort index can seek to."""
    value, pk = cursor
    op = "lt" if descending else "gt"
    edge = "lte" if descending else "gte"
    return Q(**{f"{sort_field}__{edge}": value}) & (
        Q(**{f"{sort_field}__{op}": value}) | Q(**{sort_field: value, f"pk__{op}": pk})
    )


@dataclass(frozen=True)
class PageLink:
    number: int
    query: str
    current: bool = False
    gap_before: bool = False  # pages are skipped between the one before and this one


@dataclass
class KeysetPage:
    object_list: list
    sort_field: str
    base_query: dict
    has_next: bool = False
    has_previous: bool = False
    total: CappedCount = field(default_factory=lambda: CappedCount(0, True))
    # Which page this is, when known: counted from the first page (the `p` the links carry),
    # or from the end when the count is exact. None past the count cap, reached from the end.
    number: int | None = None
    page_count: int | None = None
    neighbours: list[PageLink] = field(default_factory=list)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def _link(self, number: int | None = None, **cursor) -> str:
        page = {"p": str(number)} if number and number > 1 and cursor else {}
        return urlencode({**self.base_query, **cursor, **page})

    @property
    def first_query(self) -> str:
        return self._link()

    @property
    def last_query(self) -> str:
        return self._link(self.page_count, page="last")

    @property
    def next_query(self) -> str:
        number = self.number + 1 if self.number else None
        return self._link(number, after=encode_cursor(self.object_list[-1], self.sort_field))

    @property
    def previous_query(self) -> str:
        if self.number == 2:
            return self.first_query
        number = self.number - 1 if self.number else None
        return self._link(number, before=encode_cursor(self.object_list[0], self.sort_field))

    @property
    def numbered(self) -> list[PageLink]:
        """The page links to show: first, the neighbours, last, each marked where pages
        are skipped before it."""
        links = {link.number: link for link in self.neighbours}
        if self.number and self.number > 1:
            links.setdefault(1, PageLink(1, self.first_query))
        if self.page_count and self.number and self.page_count > self.number:
            links.setdefault(self.page_count, PageLink(self.page_count, self.last_query))
        shown, previous = [], 0
        for number in sorted(links):
            shown.append(dataclasses.replace(links[number], gap_before=number > previous + 1))
            previous = number
        return shown


NEIGHBOURS = 2  # page numbers shown each side of the current one


def keyset_page(
    rows: QuerySet,
    ordering: tuple[str, ...],
    params,
    size: int,
    total: CappedCount | None = None,
) -> KeysetPage:
    """One page of `rows` (ordered by `ordering`: a sort field then the id, same direction),
    numbered when that is known, with links to its neighbours' pages: two key-only queries
    of at most two rows each (docs/performance.md), whatever the page and the row count."""
    total = total or CappedCount(0, False)
    descending = ordering[0].startswith("-")
    sort_field = ordering[0].lstrip("-")
    base = {k: v for k, v in params.items() if k not in CURSOR_PARAMS and v != ""}
    after = decode_cursor(params.get("after", ""), sort_field)
    before = decode_cursor(params.get("before", ""), sort_field)
    page_count = max(1, -(-total.value // size)) if total.exact else None
    page = KeysetPage([], sort_field, base, total=total, page_count=page_count)
    if before is not None or params.get("page") == "last":
        _fill_backwards(page, rows, before, size, descending, sort_field)
    else:
        _fill_forwards(page, rows, after, size, descending, sort_field)
    page.number = _page_number(page, params, after, before)
    if page.object_list:
        mode = "last" if params.get("page") == "last" and before is None else "first"
        if after is not None or before is not None:
            mode = "middle"
        page.neighbours = _neighbours(page, rows, size, descending, sort_field, mode)
    return page


def _fill_backwards(page, rows, before, size, descending, sort_field) -> None:
    backwards = rows.reverse()
    if before is not None:
        backwards = backwards.filter(_beyond(before, sort_field, not descending))
    elif page.page_count:  # the last page holds what is left after full pages from the start
        size = page.total.value - (page.page_count - 1) * size or size
    found = list(backwards[: size + 1])
    page.object_list = found[:size][::-1]
    page.has_previous = len(found) > size
    page.has_next = before is not None


def _fill_forwards(page, rows, after, size, descending, sort_field) -> None:
    if after is not None:
        rows = rows.filter(_beyond(after, sort_field, descending))
    found = list(rows[: size + 1])
    page.object_list = found[:size]
    page.has_next = len(found) > size
    page.has_previous = after is not None


def _page_number(page: KeysetPage, params, after, before) -> int | None:
    if after is None and before is None and params.get("page") != "last":
        return 1
    if not page.has_previous:
        return 1
    if after is None and before is None:  # the last page
        return page.page_count
    number = params.get("p", "")
    if number.isdigit() and 1 < int(number) <= 1_000_000:
        return int(number)
    return None


def _neighbours(page: KeysetPage, rows, size, descending, sort_field, mode) -> list[PageLink]:
    """This page and up to NEIGHBOURS pages each side, each with the cursor that opens it.
    The page next door opens from this page's own edge row; the one beyond it from the edge
    row of the page next door, found by an offset within one page of keys (cheap). Which
    queries run depends on the URL only (first page: none behind; last: none ahead), so
    the query count never depends on the rows."""
    first, last = page.object_list[0], page.object_list[-1]
    ahead = behind = []
    if mode != "last":
        edge = _beyond((getattr(last, sort_field), last.pk), sort_field, descending)
        ahead = list(rows.filter(edge).values_list(sort_field, "pk")[size - 1 : size + 1])
    if mode != "first":
        edge = _beyond((getattr(first, sort_field), first.pk), sort_field, not descending)
        behind = list(rows.reverse().filter(edge).values_list(sort_field, "pk")[size - 1 : size])
    number = page.number
    if number is None:
        return []
    links = [PageLink(number, "", current=True)]
    if page.has_next:
        links.append(PageLink(number + 1, page.next_query))
        if len(ahead) == 2:  # a row past the next page: the one after it exists
            links.append(PageLink(number + 2, page._link(number + 2, after=_cursor(ahead[0]))))
    if number > 1:
        links.append(PageLink(number - 1, page.previous_query))
        if number == 3:
            links.append(PageLink(1, page.first_query))
        elif number > 3 and behind:
            links.append(PageLink(number - 2, page._link(number - 2, before=_cursor(behind[0]))))
    return sorted(links, key=lambda link: link.number)


def _cursor(key: tuple) -> str:
    value, pk = key
    return f"{value.isoformat() if isinstance(value, datetime) else value}~{pk}"
