"""Handing tasks to the Celery broker from web requests, without waiting on a dead broker.

The database row is the source of truth (the sweeper and the periodic refresh find it), so a
publish that fails only delays work. What must not happen is every request paying a broker
connection timeout while the broker is down: after one failure this process stops trying
for `SYNC_SWEEP_SECONDS`, which is when the sweeper takes over anyway.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)


class BrokerBreaker:
    def __init__(self) -> None:
        self._closed_until = 0.0

    @property
    def is_open(self) -> bool:
        """True while publishing is known to fail; callers skip the attempt."""
        return time.monotonic() < self._closed_until

    def trip(self) -> None:
        self._closed_until = time.monotonic() + settings.SYNC_SWEEP_SECONDS

    def reset(self) -> None:
        self._closed_until = 0.0


breaker = BrokerBreaker()


def publish(task, *args, countdown: float | None = None, **kwargs) -> bool:
    """`task.apply_async(args, kwargs)`; False (and a warning) when the broker is down."""
    if breaker.is_open:
        return False
    try:
        task.apply_async(args, kwargs or None, countdown=countdown)
    except Exception as error:  # any broker failure: the committed rows are the truth
        breaker.trip()
        logger.warning(
            "Could not hand %s to the broker (%s); it will be picked up later.",
            task.name,
            type(error).__name__,
        )
        return False
    return True
