"""Publishing never keeps a request waiting on the broker (qualytics_jira/broker.py): a stopped
broker refuses at once, a hung one is given up on after BROKER_PUBLISH_TIMEOUT, and either
way the process stops trying for a sweep interval."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from kombu.exceptions import OperationalError

from integrations import tasks
from qualytics_jira import broker

# The bound a user would notice: an acknowledge must not take more than about a second.
REQUEST_BOUND_SECONDS = 1.0


@pytest.fixture
def hung_broker(settings) -> Iterator[socket.socket]:
    """A port that accepts connections and never answers: a stopped process, a black hole."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    yield listener
    listener.close()


@pytest.fixture
def stopped_broker(settings) -> None:
    """A port nothing listens on: a Redis that was shut down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"


def timed_publish() -> tuple[bool, float]:
    started = time.monotonic()
    handed_over = broker.publish(tasks.deliver_sync_event, 1)
    return handed_over, time.monotonic() - started


def test_it_gives_up_on_a_hung_broker_within_the_publish_timeout(hung_broker, broker_breaker):
    handed_over, seconds = timed_publish()

    assert not handed_over
    assert seconds < REQUEST_BOUND_SECONDS, f"publishing waited {seconds:.2f} s"
    assert broker_breaker.is_open, "a timeout must trip the breaker like a refusal"


def test_it_skips_a_hung_broker_once_the_breaker_tripped(hung_broker, broker_breaker):
    timed_publish()

    handed_over, seconds = timed_publish()

    assert not handed_over
    assert seconds < 0.05


def test_it_gives_up_on_a_stopped_broker_at_once(stopped_broker, broker_breaker):
    handed_over, seconds = timed_publish()

    assert not handed_over
    assert seconds < REQUEST_BOUND_SECONDS
    assert broker_breaker.is_open


def test_it_trips_on_a_broker_timeout_error(monkeypatch, broker_breaker):
    def times_out(*args, **kwargs):
        raise OperationalError("Timeout reading from socket")

    monkeypatch.setattr(tasks.deliver_sync_event, "apply_async", times_out)

    assert not broker.publish(tasks.deliver_sync_event, 1)
    assert broker_breaker.is_open


def test_it_publishes_with_short_timeouts_and_no_retry(settings):
    settings.BROKER_PUBLISH_TIMEOUT = 0.25

    options = broker.publish_transport_options()

    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.25
    assert options["max_retries"] == 0
    assert options["retry_on_timeout"] is False


def test_it_says_a_hung_broker_does_not_answer_within_the_timeout(hung_broker, broker_breaker):
    started = time.monotonic()

    assert not broker.broker_answers()
    assert time.monotonic() - started < REQUEST_BOUND_SECONDS


def test_it_says_a_working_broker_answers(broker_breaker):
    # The test settings' broker is kombu's filesystem transport: always there.
    assert broker.broker_answers()
