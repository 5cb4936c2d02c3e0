"""Concurrent ingestion of one recurring failure decides one create, never two: the group's
row is locked while deciding (Postgres: real concurrent transactions). The group row exists
beforehand (a failure seen before, its ticket gone): a first insert would serialise on the
unique key by itself, an existing row only by its lock."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from integrations.models import TicketLink
from rules.matching import checked, group_key
from rules.models import RuleAction, RuleGroup
from tests.processes import wait_until

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


def test_a_recurrence_waiting_on_the_group_sees_the_ticket_stored_meanwhile(
    orders, manager, jira_integration
):
    """A recurrence is ingested while the worker that created the group's ticket holds the
    group, storing it. Once the worker commits, the recurrence must see that ticket and
    comment there, not find the group ticketless and open a second one (Postgres re-checks
    only the locked row after such a wait, not what the locking query joined)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no lock to wait on")
    rule = make_rule(manager)
    first = ingest(orders, manager)  # decides the create: the group is "creating"
    link = TicketLink.objects.create(
        anomaly=first,
        integration=jira_integration,
        origin=TicketLink.Origin.CREATED,
        issue_id="10100",
        issue_key="DQ-100",
        url="https://example.atlassian.net/browse/DQ-100",
        linked_at=timezone.now(),
    )
    holding, recurrence_waits = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def worker_storing_the_ticket() -> None:
        try:
            with transaction.atomic():
                group = RuleGroup.objects.select_for_update().get(rule=rule)
                holding.set()
                assert recurrence_waits.wait(timeout=30), "the recurrence never waited"
                group.creating, group.link = False, link  # stored while the recurrence waits
                group.save(update_fields=["creating", "link"])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    def recurrence() -> None:
        try:
            holding.wait(timeout=30)
            ingest(orders, manager)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker_storing_the_ticket),
        threading.Thread(target=recurrence),
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: backends_waiting_on_a_lock() > 0, timeout=30, what="the recurrence waiting")
    recurrence_waits.set()
    for thread in threads:
        thread.join()

    assert errors == []
    kinds = list(RuleAction.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["create", "recur"]
    assert RuleAction.objects.get(kind="recur").issue_key == "DQ-100"


def backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]
