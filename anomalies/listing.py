"""The anomaly list at scale: capped per-status counts and keyset pages.

Counting every matching anomaly per status is a full scan at a million rows, and an OFFSET
page walks every row before it. Instead each status is counted only up to `COUNT_CAP` (an
index range of at most that many entries; the page says "1,000+" beyond), and pages are
cut by the sort key of a row (`after`/`before` cursors, and `page=last` from the other end),
so page 1,000 costs what page 1 costs. See docs/performance.md.
"""

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from .models import Status

COUNT_CAP = 1_000
CURSOR_PARAMS = ("after", "before", "page")


@dataclass(frozen=True)
class CappedCount:
    """How many match, exactly up to the cap; `exact` is False past it ("1,000+")."""

    value: int
    exact: bool

    def __add__(self, other: "CappedCount") -> "CappedCount":
        return CappedCount(self.value + other.value, self.exact and other.exact)

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


def count_by_status(anomalies: QuerySet, *, sampled: bool = False) -> dict[str, CappedCount]:
    """Each status's count, capped, all in one query of one bounded subquery per status.

    `sampled` (searches, where each status's subquery would search again): the statuses of
    the first COUNT_CAP + 1 matches; past the cap each count is a lower bound ("n+").
    """
    if sampled:
        return _count_sample(anomalies)
    parts, params = [], []
    for status in Status:
        capped = anomalies.filter(status=status).order_by().values("pk")[: COUNT_CAP + 1]
        sql, sub_params = capped.query.sql_with_params()
        # The SQL is the ORM's own compilation; every value stays a bound parameter.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{len(parts)})")  # noqa: S608
        params.extend(sub_params)
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
    else:
        parsed = int(value) if value.isdigit() and len(value) < 10 else None
    return None if parsed is None else (parsed, int(pk))


def _beyond(cursor: tuple, sort_field: str, descending: bool) -> Q:
    """Rows after the cursor in the given direction: a range the sort index can seek to."""
    value, pk = cursor
    op = "lt" if descending else "gt"
    edge = "lte" if descending else "gte"
    return Q(**{f"{sort_field}__{edge}": value}) & (
        Q(**{f"{sort_field}__{op}": value}) | Q(**{sort_field: value, f"pk__{op}": pk})
    )


@dataclass
class KeysetPage:
    object_list: list
    sort_field: str
    base_query: dict
    has_next: bool = False
    has_previous: bool = False
    total: CappedCount = field(default_factory=lambda: CappedCount(0, True))

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def _link(self, **cursor) -> str:
        return urlencode({**self.base_query, **cursor})

    @property
    def first_query(self) -> str:
        return self._link()

    @property
    def last_query(self) -> str:
        return self._link(page="last")

    @property
    def next_query(self) -> str:
        return self._link(after=encode_cursor(self.object_list[-1], self.sort_field))

    @property
    def previous_query(self) -> str:
        return self._link(before=encode_cursor(self.object_list[0], self.sort_field))


def keyset_page(rows: QuerySet, ordering: tuple[str, str], params, size: int) -> KeysetPage:
    """One page of `rows` (ordered by `ordering`: a sort field then the id, same direction)."""
    descending = ordering[0].startswith("-")
    sort_field = ordering[0].lstrip("-")
    base = {k: v for k, v in params.items() if k not in CURSOR_PARAMS and v != ""}
    after = decode_cursor(params.get("after", ""), sort_field)
    before = decode_cursor(params.get("before", ""), sort_field)
    page = KeysetPage([], sort_field, base)
    if before is not None or params.get("page") == "last":
        backwards = rows.reverse()
        if before is not None:
            backwards = backwards.filter(_beyond(before, sort_field, not descending))
        found = list(backwards[: size + 1])
        page.object_list = found[:size][::-1]
        page.has_previous = len(found) > size
        page.has_next = before is not None
        return page
    if after is not None:
        rows = rows.filter(_beyond(after, sort_field, descending))
    found = list(rows[: size + 1])
    page.object_list = found[:size]
    page.has_next = len(found) > size
    page.has_previous = after is not None
    return page
