"""Bring back into range the detection times that ingestion accepted before the input rules
(README "Input rules"): on PostgreSQL a time such as 9999-12-31T23:59:59-12:00 was stored as
year 10000 in UTC, which Python cannot read, so every list that included the row failed.

The update runs in the database and never loads a row; such times become the nearest bound
of the allowed range, and the history says so.
"""

from datetime import UTC, datetime

from django.db import migrations

# The bounds of anomalies/validation.py, copied: a migration must not change with the code.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)


def repair_detection_times(apps, schema_editor):
    Anomaly = apps.get_model("anomalies", "Anomaly")
    HistoryEntry = apps.get_model("anomalies", "HistoryEntry")
    for too_far, bound in (
        (dict(detected_at__gt=LATEST), LATEST),
        (dict(detected_at__lt=EARLIEST), EARLIEST),
    ):
        ids = list(Anomaly.objects.filter(**too_far).values_list("pk", flat=True))
        Anomaly.objects.filter(pk__in=ids).update(detected_at=bound)
        HistoryEntry.objects.bulk_create(
            HistoryEntry(
                anomaly_id=pk,
                action="repaired",
                summary=f"Detection time out of range; set to {bound:%Y-%m-%d %H:%M:%S} UTC",
            )
            for pk in ids
        )


class Migration(migrations.Migration):
    dependencies = [("anomalies", "0004_trigram_search_indexes")]

    operations = [migrations.RunPython(repair_detection_times, migrations.RunPython.noop)]
