"""Migration 0005: rows stored before the input rules with a detection time Python cannot
read (year 10000 in UTC on PostgreSQL) are brought back into range, so the lists answer."""

import importlib
from http import HTTPStatus

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from anomalies.models import Anomaly, HistoryEntry

repair = importlib.import_module("anomalies.migrations.0005_repair_out_of_range_detection_times")

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="only PostgreSQL stored such times; SQLite refused them before writing",
)


def poison(anomaly, stored: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE anomalies_anomaly SET detected_at = %s::timestamptz WHERE id = %s",
            [stored, anomaly.pk],
        )


@pytest.mark.parametrize(
    ("stored", "repaired"),
    [("10000-01-01 11:59:59+00", "9998-12-31"), ("0001-01-01 00:00:00+00 BC", "1900-01-01")],
)
def test_it_repairs_a_time_python_cannot_read(client, admin, anomaly, stored, repaired):
    poison(anomaly, stored)
    client.force_login(admin)

    repair.repair_detection_times(apps, None)

    assert str(Anomaly.objects.get(pk=anomaly.pk).detected_at.date()) == repaired
    assert HistoryEntry.objects.filter(anomaly=anomaly, action="repaired").count() == 1
    assert client.get(reverse("anomalies:list")).status_code == HTTPStatus.OK
    assert client.get(reverse("admin:anomalies_anomaly_changelist")).status_code == HTTPStatus.OK


def test_it_leaves_times_in_range_alone(anomaly):
    before = Anomaly.objects.get(pk=anomaly.pk).detected_at

    repair.repair_detection_times(apps, None)

    assert Anomaly.objects.get(pk=anomaly.pk).detected_at == before
    assert not HistoryEntry.objects.filter(action="repaired").exists()
