"""Handing tasks to the Celery broker, never waiting long on a dead or hung broker.

The database row is the source of truth (the sweeper and the periodic refresh find it), so a
publish that fails only delays work. What must not happen is a web request waiting on the
broker. Two things bound it:

- Publishing uses a connection of its own whose connect and read timeouts are
  `BROKER_PUBLISH_TIMEOUT` (a few hundred ms) and which never retries: a stopped Redis
  refuses at once, a hung one (process stopped, network black hole) times out.
- After any failure (refused, timed out, any kombu/redis error) this process stops trying
  for `SYNC_SWEEP_SECONDS`, which is when the sweeper takes over anyway.

The kombu and redis-py behaviour this relies on is in docs/broker.md.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import current_app
from django.conf import settings
from kombu import Connection
from kombu.pools import connections, producers

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

_publish_connections: dict[tuple[int, str], Connection] = {}
_publish_connections_lock = threading.Lock()


def publish_transport_options() -> dict:
    """The broker's transport options with the publishing bounds: connect and read timeouts
    of `BROKER_PUBLISH_TIMEOUT`, no retry (a retry would multiply the wait)."""
    timeout = settings.BROKER_PUBLISH_TIMEOUT
    return {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry_on_timeout": False,
        "max_retries": 0,
    }


def publish_connection() -> Connection:
    """This process's publishing connection (one per pid: pools must not cross a fork)."""
    key = (os.getpid(), settings.CELERY_BROKER_URL)
    with _publish_connections_lock:
        if key not in _publish_connections:
            _publish_connections[key] = current_app.connection_for_write(
                settings.CELERY_BROKER_URL,
                connect_timeout=settings.BROKER_PUBLISH_TIMEOUT,
                transport_options=publish_transport_options(),
            )
        return _publish_connections[key]


def load_publishing_transport() -> None:
    """Import the broker's transport (redis-py, kombu's Redis channel) at start-up, not in
    the first request that publishes: under load those imports took over a second, and the
    import lock made every request of the process wait for them. Opens no connection."""
    publish_connection().transport  # noqa: B018 (the property loads and builds the transport)


def publish(task, *args, countdown: float | None = None, **kwargs) -> bool:
    """`task.apply_async(args, kwargs)` within the publish timeout; False (and a warning)
    when the broker is down or hung. ``task`` may be a registered task's name, so services
    hand work to tasks without importing the module that imports them."""
    if breaker.is_open:
        return False
    if isinstance(task, str):
        task = current_app.tasks[task]
    started = time.monotonic()
    try:
        pool = producers[publish_connection()]
        with pool.acquire(block=True, timeout=settings.BROKER_PUBLISH_TIMEOUT) as producer:
            task.apply_async(
                args, kwargs or None, countdown=countdown, producer=producer, retry=False
            )
    except Exception as error:  # refused, timed out, any kombu/redis error: rows are the truth
        _trip(f"Could not hand {task.name} to the broker", error, started)
        return False
    return True


def broker_answers() -> bool:
    """One round trip to the broker within the publish timeout (for /healthz). A failure
    trips the breaker too: requests then skip a broker known to be down."""
    if breaker.is_open:
        return False
    started = time.monotonic()
    try:
        pool = connections[publish_connection()]
        with pool.acquire(block=True, timeout=settings.BROKER_PUBLISH_TIMEOUT) as connection:
            client = getattr(connection.default_channel, "client", None)
            if client is not None:  # Redis: a pooled connection may have gone quiet since
                client.ping()
    except Exception as error:
        _trip("The broker did not answer", error, started)
        return False
    return True


def _trip(what: str, error: Exception, started: float) -> None:
    breaker.trip()
    logger.warning(
        "%s (%s after %.0f ms); retrying in %g s, the sweeper picks up what is owed.",
        what,
        type(error).__name__,
        (time.monotonic() - started) * 1000,
        settings.SYNC_SWEEP_SECONDS,
    )
