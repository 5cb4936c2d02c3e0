"""Handing a bulk action's sync events to workers once per Jira issue, not once per event.

A single change publishes one delivery task per event it queues. A bulk action over 1,000
anomalies would publish 1,000 broker messages, although a worker delivers the events of one
issue one after the other anyway, up to DELIVERY_BATCH per message, each batch handing on
to the next (docs/sync.md, "Batches"). So while a
batch is open, committed events are only collected; when it closes, the head of each
touched issue's queue is published: one message per issue. If the broker is down, the
sweeper finds the events, as always.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.db import transaction

_batch: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("sync_batch", default=None)


class Batch:
    def __init__(self) -> None:
        self.remote_issues: set[str] = set()
        self.queued = 0

    def add(self, remote_issues: list[str]) -> None:
        self.remote_issues.update(remote_issues)
        self.queued += len(remote_issues)

    def notes(self) -> list[str]:
        if not self.queued:
            return []
        plural = "" if self.queued == 1 else "s"
        return [f"{self.queued} Jira comment{plural} queued"]


@contextlib.contextmanager
def deferred_deliveries() -> Iterator:
    """Registered with anomalies.bulk as a batch hook; yields the summary's notes."""
    batch = Batch()
    token = _batch.set(batch)
    try:
        yield batch.notes
    finally:
        _batch.reset(token)
        # Inside an outer transaction, the events commit (and are collected) only with it.
        transaction.on_commit(lambda: _publish_heads(batch.remote_issues))


def _publish_heads(remote_issues: set[str]) -> None:
    from .sync import enqueue_next

    for remote_issue in sorted(remote_issues):
        enqueue_next(remote_issue)


def hand_to_workers(pending: list[tuple[int, str]]) -> None:
    """After the change commits: publish each event, or inside a batch, collect its issue."""
    from .sync import enqueue_deliveries

    batch = _batch.get()
    if batch is None:
        ids = [event_id for event_id, _ in pending]
        transaction.on_commit(lambda: enqueue_deliveries(ids))
    else:
        issues = [remote_issue for _, remote_issue in pending]
        transaction.on_commit(lambda: batch.add(issues))
