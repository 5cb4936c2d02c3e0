"""Writing a status refresh back: only the links whose shown status changed, in batches.

On PostgreSQL each batch is one `UPDATE … FROM (VALUES …)`; elsewhere Django's
`bulk_update` (a CASE per column, slower to build, fine at SQLite's scale). The links whose
status did not change get only their "synced at" time, a batch of ids per statement.
"""

from django.db import connection

from ..models import TicketLink

# Rows per statement: bounded statement size and memory however many links are refreshed.
REFRESH_WRITE_BATCH = 500


def shown_status(link: TicketLink) -> tuple:
    return tuple(
        getattr(link, name) for name in TicketLink.STATUS_FIELDS if name != "last_synced_at"
    )


def save_refreshed(changed: list[TicketLink], unchanged: list[TicketLink], now) -> None:
    for batch in _batches(changed):
        if connection.vendor == "postgresql":
            _update_from_values(batch)
        else:
            TicketLink.objects.bulk_update(batch, TicketLink.STATUS_FIELDS)
    for batch in _batches(unchanged):
        TicketLink.objects.filter(pk__in=[link.pk for link in batch]).update(last_synced_at=now)


def _batches(links: list[TicketLink]):
    for start in range(0, len(links), REFRESH_WRITE_BATCH):
        yield links[start : start + REFRESH_WRITE_BATCH]


def _update_from_values(links: list[TicketLink]) -> None:
    table = TicketLink._meta.db_table
    columns = [TicketLink._meta.get_field(name).column for name in TicketLink.STATUS_FIELDS]
    quote = connection.ops.quote_name
    row = (
        "(%s::bigint, "
        + ", ".join(
            "%s::timestamptz" if name == "last_synced_at" else "%s"
            for name in TicketLink.STATUS_FIELDS
        )
        + ")"
    )
    params = []
    for link in links:
        params.append(link.pk)
        params.extend(getattr(link, name) for name in TicketLink.STATUS_FIELDS)
    assignments = ", ".join(f"{quote(column)} = v.{quote(column)}" for column in columns)
    names = ", ".join(quote(column) for column in ["id", *columns])
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"UPDATE {quote(table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(links))}) AS v({names}) WHERE t.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
