"""Concurrent ingestion of one recurring failure decides one create, never two: the group's
row is locked while deciding (Postgres: real concurrent transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from rules.models import RuleAction

from .support import ingest, make_rule

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 8


def test_it_decides_one_create_when_one_failure_is_ingested_at_once(orders, manager):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no race to lose")
    make_rule(manager)
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def ingest_at_once() -> None:
        try:
            start.wait()
            ingest(orders, manager)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ingest_at_once) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kinds = sorted(RuleAction.objects.values_list("kind", flat=True))
    assert kinds == ["create"] + ["recur"] * (THREADS - 1)
