"""Real processes for tests that need them: the Jira simulator, Celery worker and beat,
gunicorn, and a private redis-server. Used by the sync fault tests and the browser tests.

Each process runs on loopback in its own process group, writes its output to
``var/test-logs/run-<pytest pid>/<test>/<name>.log`` (runs side by side keep their logs apart)
and is stopped, the whole group killed, when its test ends, failed or not. A failed test
prints the tail of every log it started.

    from tests.processes import broker_url_fixture, processes_fixture, service_env  # noqa: F401

    def test_it_delivers(transactional_db, processes, broker_url):
        env = service_env(broker_url=broker_url)
        processes.celery_worker(env)
        processes.celery_beat(env)
        web = processes.gunicorn(env)

Request ``transactional_db`` *before* ``processes``: pytest then stops the processes before
it empties the tables, and the worker and web processes see what the test committed.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.redis_broker import (  # noqa: F401 (empty_broker, redis_server_installed: re-exported)
    SHARED_REDIS,
    claim_redis_db,
    empty_broker,
    redis_answers,
    redis_client,
    redis_server_installed,
    shared_redis_available,
)

ROOT = Path(__file__).resolve().parent.parent
LOG_ROOT = ROOT / "var" / "test-logs"
# Shortened timings so faults play out in seconds, not minutes (see settings.py).
FAST_SYNC_SETTINGS = {
    "SYNC_SWEEP_SECONDS": "1",
    "SYNC_SENDING_STALE_SECONDS": "5",
    "SYNC_BACKOFF_BASE_SECONDS": "0.5",
    "JIRA_READ_TIMEOUT": "2",
    # Beyond the longest stall the fault tests inject: a post Jira completes 5 s after it
    # arrived, 3 s after the worker's 2 s read timeout.
    "SYNC_LOOKBACK_MARGIN_SECONDS": "4",
    "JIRA_ALLOW_INSECURE_LOOPBACK": "1",
    # Status refreshes would add Jira traffic the fault tests do not expect.
    "TICKET_REFRESH_SECONDS": "3600",
}
# Inherited variables that would point a child at another database, broker or secret.
NOT_INHERITED = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float,
    what: str | Callable[[], str],
    every: float = 0.1,
) -> object:
    """Poll until ``condition()`` is truthy and return it; fail saying ``what`` never happened
    (a callable ``what`` is asked at that moment, so it can describe the state it found)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            description = what() if callable(what) else what
            pytest.fail(f"Waited {timeout:g} s, but {description} never happened.")
        time.sleep(every)


# --- one process ---------------------------------------------------------------------------


class ManagedProcess:
    """A child in its own process group, its output in one log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.popen: subprocess.Popen | None = None
        self.is_ready: Callable[[], object] = lambda: True
        self.ready_timeout = 30.0

    def start(self) -> ManagedProcess:
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: one killpg reaches its children too
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_ready(self) -> ManagedProcess:
        """Poll ``is_ready``; fail at once, with the log, if the process exits first."""

        def ready_or_dead() -> object:
            if not self.running:
                pytest.fail(f"{self.name} exited before it was ready:\n{self.tail()}")
            return self.is_ready()

        wait_until(ready_or_dead, timeout=self.ready_timeout, what=f"{self.name} becoming ready")
        return self

    def ready_when_logged(self, pattern: str) -> None:
        regex = re.compile(pattern)
        self.is_ready = lambda: regex.search(self.log())

    def kill(self) -> None:
        """SIGKILL the whole group: a crash, as far as the process can tell."""
        self._signal_group(signal.SIGKILL)
        self._reap(timeout=10)

    def stop(self, grace: float = 5) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``grace`` seconds."""
        if self.popen is None:
            return
        self._signal_group(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        self.kill()

    def _signal_group(self, signum: int) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def _reap(self, timeout: float) -> None:
        assert self.popen is not None
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        # Children outlive a killed leader for a moment; the group is gone when none is left.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


class SimulatorProcess(ManagedProcess):
    url = ""

    @property
    def control(self):
        from simulators.jira import SimulatorControl

        return SimulatorControl(self.url)


class ServiceNowSimulatorProcess(ManagedProcess):
    url = ""

    @property
    def control(self):
        from simulators.servicenow import ServiceNowControl

        return ServiceNowControl(self.url)


class WebServer(ManagedProcess):
    url = ""


class RedisServer(ManagedProcess):
    port = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def ping(self) -> bool:
        return redis_answers("127.0.0.1", self.port)

    def shutdown(self) -> None:
        """What an operator's ``redis-cli shutdown nosave`` does: the broker is gone, empty."""
        with suppress(Exception):
            redis_client("127.0.0.1", self.port).shutdown(nosave=True)
        self._reap(timeout=10)


# --- the processes of one test ----------------------------------------------------------------


class Processes:
    """Starts processes for one test and stops them all, in reverse order, at its end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[ManagedProcess] = []
        self._counts: dict[str, int] = {}
        self._reports: list[tuple[str, Callable[[], str]]] = []

    def label(self, name: str) -> str:
        """``name``, then ``name-2``, ``name-3``…: a restarted process gets a log of its own."""
        self._counts[name] = self._counts.get(name, 0) + 1
        return name if self._counts[name] == 1 else f"{name}-{self._counts[name]}"

    def start(self, kind: type[ManagedProcess], label: str, argv, env) -> ManagedProcess:
        process = kind(label, argv, env, self.log_dir / f"{label}.log").start()
        self.started.append(process)
        return process

    # Each helper below waits until its process is ready, unless ``wait=False``: then call
    # ``wait_ready()`` later, so that several processes can start at the same time.

    def jira_simulator(self, *, email: str, token: str) -> SimulatorProcess:
        argv = [sys.executable, "-m", "simulators.jira", "--port", "0"]
        argv += ["--email", email, "--token", token]
        simulator = self.start(SimulatorProcess, self.label("jira-simulator"), argv, child_env())
        # --port 0 picks a free port; the first line names it.
        listening = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
        simulator.ready_when_logged(listening.pattern)
        simulator.wait_ready()
        simulator.url = listening.search(simulator.log()).group(1)  # type: ignore[union-attr]
        return simulator  # type: ignore[return-value]

    def servicenow_simulator(self, *, username: str, password: str) -> ServiceNowSimulatorProcess:
        argv = [sys.executable, "-m", "simulators.servicenow", "--port", "0"]
        argv += ["--username", username, "--password", password]
        label = self.label("servicenow-simulator")
        simulator = self.start(ServiceNowSimulatorProcess, label, argv, child_env())
        listening = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
        simulator.ready_when_logged(listening.pattern)
        simulator.wait_ready()
        simulator.url = listening.search(simulator.log()).group(1)  # type: ignore[union-attr]
        return simulator  # type: ignore[return-value]

    def celery_worker(self, env: dict[str, str], *, wait: bool = True) -> ManagedProcess:
        label = self.label("celery-worker")
        argv = [sys.executable, "-m", "celery", "-A", "qualytics_jira", "worker"]
        argv += ["--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO", "-Q", "celery"]
        argv += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
        argv += ["--hostname", f"{label}-{os.getpid()}@%h"]
        worker = self.start(ManagedProcess, label, argv, env)
        worker.ready_when_logged(r"\bready\.")
        return worker.wait_ready() if wait else worker

    def celery_beat(self, env: dict[str, str], *, wait: bool = True) -> ManagedProcess:
        label = self.label("celery-beat")
        schedule = self.log_dir / f"{label}.schedule"  # beat's own state, fresh per test
        argv = [sys.executable, "-m", "celery", "-A", "qualytics_jira", "beat"]
        argv += ["--loglevel", "INFO", "--schedule", str(schedule)]
        beat = self.start(ManagedProcess, label, argv, env)
        beat.ready_when_logged(r"beat: Starting")
        return beat.wait_ready() if wait else beat

    def gunicorn(
        self, env: dict[str, str], *, workers: int = 2, threads: int = 8, wait: bool = True
    ) -> WebServer:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**env, "DEBUG": "0", "SITE_URL": url}
        argv = [sys.executable, "-m", "gunicorn", "qualytics_jira.wsgi"]
        argv += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
        argv += ["--threads", str(threads), "--access-logfile", "-", "--error-logfile", "-"]
        # gunicorn 27 puts every instance's control socket at one fixed path: runs would clash.
        argv += ["--no-control-socket"]
        web = self.start(WebServer, self.label("gunicorn"), argv, env)
        web.url = url
        web.is_ready = lambda: _answers(url + "/login/")
        return web.wait_ready() if wait else web  # type: ignore[return-value]

    def redis_server(self, *, port: int | None = None) -> RedisServer:
        """A private redis-server, so a test may stop it without disturbing anyone else."""
        port = port or free_port()
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.log_dir), "--daemonize", "no"]
        redis = self.start(RedisServer, self.label("redis-server"), argv, child_env())
        redis.port = port
        redis.is_ready = redis.ping
        return redis.wait_ready()  # type: ignore[return-value]

    def add_report(self, name: str, describe: Callable[[], str]) -> None:
        """Something else worth printing when the test fails (e.g. what Jira received)."""
        self._reports.append((name, describe))

    def report(self) -> str:
        parts = [f"--- {p.name} ({p.log_path}) ---\n{p.tail()}" for p in self.started]
        for name, describe in self._reports:
            try:
                parts.append(f"--- {name} ---\n{describe()}")
            except Exception as error:  # the report must not hide the test's own failure
                parts.append(f"--- {name} --- unavailable: {error!r}")
        return "\n".join(parts)

    def stop_all(self, grace: float = 5) -> None:
        """SIGTERM every process at once, so their graceful shutdowns overlap, then stop each
        with what is left of one ``grace``."""
        running = [process for process in reversed(self.started) if process.popen is not None]
        for process in running:
            process._signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in running:
            process.stop(grace=max(deadline - time.monotonic(), 0.1))


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


# --- environments ----------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def current_database_url() -> str:
    """The database pytest-django created, as a DATABASE_URL for other processes."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("Other processes need a file test database (see test_settings).")
        return f"sqlite:///{name}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        user = quote(db.get("USER") or "", safe="")
        password = quote(db.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = db.get("HOST") or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"
    raise RuntimeError(f"No DATABASE_URL form for {db['ENGINE']}")


def service_env(*, broker_url: str, **overrides: str) -> dict[str, str]:
    """The environment of worker, beat and web: the test database, this broker, the test's
    own secrets (so a worker can decrypt the credentials the test stored), fast sync."""
    return child_env(
        DJANGO_SETTINGS_MODULE="qualytics_jira.test_settings",
        DATABASE_URL=current_database_url(),
        CELERY_BROKER_URL=broker_url,
        # As test_settings read them: django-cryptography replaces settings.CRYPTOGRAPHY_KEY
        # with the derived key, which is no valid input for another process.
        SECRET_KEY=os.environ["SECRET_KEY"],
        CRYPTOGRAPHY_KEY=os.environ["CRYPTOGRAPHY_KEY"],
        DEBUG="0",
        **FAST_SYNC_SETTINGS,
        **overrides,
    )


# --- fixtures --------------------------------------------------------------------------------
# Import the ``*_fixture`` functions into a test module or conftest; tests then ask for
# ``processes``, ``session_processes``, ``broker_url`` or ``redis_broker_url``.


@functools.cache
def run_log_dir() -> Path:
    """``var/test-logs/run-<pid>``: runs side by side in one checkout keep their logs apart.
    Directories of runs that have finished are removed."""
    for old in LOG_ROOT.glob("run-*"):
        pid = old.name.removeprefix("run-")
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    path = LOG_ROOT / f"run-{os.getpid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _log_dir(name: str) -> Path:
    path = run_log_dir() / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _print_if_failed(request: pytest.FixtureRequest, failures_before: int, text: Callable) -> None:
    if request.session.testsfailed == failures_before:
        return
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n===== process logs of {request.node.nodeid} =====\n{text()}", file=sys.stderr)


@pytest.fixture(name="processes")
def processes_fixture(request: pytest.FixtureRequest) -> Iterator[Processes]:
    """The processes of one test; all stopped at its end, their logs printed if it failed."""
    started = Processes(_log_dir(request.node.name))
    failures_before = request.session.testsfailed
    try:
        yield started
    finally:
        _print_if_failed(request, failures_before, started.report)
        started.stop_all()


@pytest.fixture(name="session_processes", scope="session")
def session_processes_fixture() -> Iterator[Processes]:
    """For processes worth sharing by a whole run (the Jira simulator)."""
    started = Processes(_log_dir("session"))
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture(name="redis_broker_url", scope="session")
def redis_broker_url_fixture() -> Iterator[str]:
    """A database of the shared Redis at 127.0.0.1:6379, claimed for this run."""
    from tests.conftest import require_service

    require_service("Redis", shared_redis_available(), "a Redis server at 127.0.0.1:6379")
    url = f"redis://{SHARED_REDIS[0]}:{SHARED_REDIS[1]}/{claim_redis_db()}"
    yield url
    empty_broker(url, keep_claim=False)


@pytest.fixture(name="broker_url")
def broker_url_fixture(redis_broker_url: str) -> Iterator[str]:
    """The run's Redis database, emptied before and after each test."""
    empty_broker(redis_broker_url)
    yield redis_broker_url
    empty_broker(redis_broker_url)
