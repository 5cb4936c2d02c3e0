"""Concurrent ingestion of one recurring failure decides one create, never two: the group's
row is locked while deciding (Postgres: real concurrent transactions). The group row exists
beforehand (a failure seen before, its ticket gone): a first insert would serialise on the
unique key by itself, an existing row only by its lock."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from rules.matching import checked, group_key
from rules.models import RuleAction, RuleGroup

from .support import ingest, make_rule

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 8


def test_it_decides_one_create_when_one_failure_is_ingested_at_once(orders, manager):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no race to lose")
    rule = make_rule(manager, paused=True)
    earlier = ingest(orders, manager)  # the failure was seen before: its group row exists
    RuleGroup.objects.create(rule=rule, group_key=group_key(earlier, checked(earlier)))
    rule.paused = False
    rule.save()
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
