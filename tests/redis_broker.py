"""The Redis side of the test harness: is there a Redis, which database may a run use as
its Celery broker, and how to empty it. Used by `tests/processes.py`."""

from __future__ import annotations

import os
import shutil
from contextlib import suppress
from urllib.parse import urlsplit

SHARED_REDIS = ("127.0.0.1", 6379)
RUN_MARKER = "qualytics-test-run"  # in a shared Redis database: "this run uses it"


def redis_client(host: str, port: int, db: int = 0):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a dead Redis must answer "no" at once, not after redis-py's backoff.
    return redis.Redis(
        host=host,
        port=port,
        db=db,
        socket_timeout=2,
        socket_connect_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )


def redis_answers(host: str, port: int) -> bool:
    try:
        return bool(redis_client(host, port).ping())
    except Exception:
        return False


def shared_redis_available() -> bool:
    return redis_answers(*SHARED_REDIS)


def redis_server_installed() -> bool:
    return shutil.which("redis-server") is not None


def claim_redis_db() -> int:
    """TEST_REDIS_DB, else an empty database of the shared Redis, claimed with a marker key
    so that a run starting at the same time picks another one (0 is left to the app)."""
    if os.environ.get("TEST_REDIS_DB"):
        return int(os.environ["TEST_REDIS_DB"])
    for db in range(1, 16):
        client = redis_client(*SHARED_REDIS, db=db)
        if not _only_leftover_queues(client):
            continue
        _drop_dead_claim(client)
        if client.set(RUN_MARKER, os.getpid(), nx=True, ex=3600):
            for key in client.keys("*"):  # what an interrupted run left behind
                if key.decode() != RUN_MARKER:
                    client.delete(key)
            return db
    raise RuntimeError("No free database on the shared Redis; set TEST_REDIS_DB.")


# Keys a Celery broker leaves in Redis; a database holding only these (and no live claim)
# is what an interrupted test run left behind, so it may be taken over.
LEFTOVER_KEY_PREFIXES = ("_kombu.", "celery", "unacked")


def _only_leftover_queues(client) -> bool:
    if _claimed_by_a_live_run(client):
        return False
    keys = client.keys("*")
    return all(key.decode().startswith((RUN_MARKER, *LEFTOVER_KEY_PREFIXES)) for key in keys)


def _drop_dead_claim(client) -> None:
    """Delete a dead run's claim, unless another run replaced it meanwhile."""
    import redis

    with client.pipeline() as pipe:
        try:
            pipe.watch(RUN_MARKER)
            owner = pipe.get(RUN_MARKER)
            pipe.multi()
            if owner is not None:
                pipe.delete(RUN_MARKER)
            pipe.execute()
        except redis.WatchError:
            pass  # another run took it: SET NX below fails, and the next database is tried


def _claimed_by_a_live_run(client) -> bool:
    """A claim holds while its run's process lives; a killed run's claim (same machine, so
    the pid can be checked) is taken over instead of blocking the database for an hour."""
    owner = client.get(RUN_MARKER)
    if owner is None:
        return False
    try:
        os.kill(int(owner), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def empty_broker(url: str, *, keep_claim: bool = True) -> None:
    """Drop every queued task; keep the run's claim on the database unless told otherwise."""
    parts = urlsplit(url)
    client = redis_client(parts.hostname or "127.0.0.1", parts.port or 6379, _db_of(url))
    with suppress(Exception):  # a broker a test stopped has nothing left to empty
        client.flushdb()
        if keep_claim:
            client.set(RUN_MARKER, os.getpid(), ex=3600)


def _db_of(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)
