"""Trigram indexes for the list's free-text search, on PostgreSQL only.

Django's `icontains` becomes `UPPER(col::text) LIKE UPPER('%words%')`, which no B-tree can
serve; a GIN trigram index on the same expression can. Creating the pg_trgm extension needs
the right privilege: without it the indexes are skipped (search still works, only slower).
"""

from django.db import migrations

INDEXES = [
    ("anomalies_anomaly_description_trgm", "anomalies_anomaly", "description"),
    ("anomalies_failedcheck_message_trgm", "anomalies_failedcheck", "message"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql" or not _trigram_available(schema_editor):
        return
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def _trigram_available(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SAVEPOINT trigram")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:
            cursor.execute("ROLLBACK TO SAVEPOINT trigram")
            return False
        cursor.execute("RELEASE SAVEPOINT trigram")
    return True


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("anomalies", "0003_apitoken")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
