"""The end-to-end stack: gunicorn, a Celery worker and beat on Redis, the Jira simulator
(all from tests/processes.py), and Debian's Chromium driven by Playwright.

The processes start once per module, against the test database pytest-django created; the
tests are `transaction=True`, so what they write is committed and the processes see it.
Process logs go to var/test-logs/run-<pid>/e2e/, screenshots to var/e2e-screenshots/; a
failing test also leaves each person's page (HTML and PNG) there and prints the log tails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulators.jira import SimulatorControl
from tests.conftest import SIM_EMAIL, SIM_TOKEN, require_service
from tests.processes import (  # noqa: F401 (redis_broker_url_fixture is a fixture)
    ROOT,
    Processes,
    empty_broker,
    redis_broker_url_fixture,
    run_log_dir,
    service_env,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = ROOT / "var" / "e2e-screenshots"
VIEWPORT = {"width": 1280, "height": 900}
# How long a page may take to show what is expected; generous for a loaded 2-core CI box.
EXPECT_MS = 10_000
ACTION_MS = 15_000


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    require_service("Chromium", CHROMIUM.exists(), f"{CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


# --- the processes ------------------------------------------------------------------------


@dataclass
class Stack:
    site_url: str
    jira: SimulatorControl
    processes: Processes

    @property
    def jira_url(self) -> str:
        return self.jira.url


def app_env(broker_url: str) -> dict[str, str]:
    """What the brief of these tests asks of the app processes, over processes.py's defaults."""
    return {
        **service_env(broker_url=broker_url),
        "SYNC_SWEEP_SECONDS": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_COOKIES": "0",
    }


@pytest.fixture(scope="module")
def e2e_stack(
    chromium_path,
    django_db_setup,
    django_db_blocker,
    redis_broker_url,
) -> Iterator[Stack]:
    """The simulator, a worker, beat and gunicorn, once per module.

    Module scope, not session: the worker and beat must be gone before other modules' tests
    use the same Redis database. Requesting `django_db_setup` first also stops them before
    pytest-django drops the test database (Postgres refuses to drop one still in use).
    """
    log_dir = run_log_dir() / "e2e"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    started = Processes(log_dir)
    empty_broker(redis_broker_url)
    try:
        simulator = started.jira_simulator(email=SIM_EMAIL, token=SIM_TOKEN)
        with django_db_blocker.unblock():
            env = app_env(redis_broker_url)
        worker = started.celery_worker(env, wait=False)
        beat = started.celery_beat(env, wait=False)
        web = started.gunicorn(env)
        worker.wait_ready()
        beat.wait_ready()
        yield Stack(site_url=web.url, jira=simulator.control, processes=started)
    finally:
        started.stop_all()
        empty_broker(redis_broker_url)


@pytest.fixture(scope="module", autouse=True)
def migrated_rows_put_back(django_db_setup, django_db_blocker) -> Iterator[None]:
    """A transactional test ends by emptying every table, even the rows that migrations
    made (the Public team, content types). Serialized rollback restores them when the next
    such test starts; tests that reach the database only through `getfixturevalue` run after
    this module (pytest-django's ordering) and would find them gone, so put them back."""
    yield
    from django.db import connection

    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(e2e_stack, chromium_path) -> Iterator:
    """Chromium, opened after the stack so its processes don't inherit the variable below."""
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_MS)

    # Playwright's sync API keeps an asyncio loop running in this thread. Django then refuses
    # ORM calls (SynchronousOnlyOperation), and keeps its connections apart from the ones
    # pytest-django set up (which carry the transaction and the serialized rollback). Nothing
    # here is async: allow the calls, and hand Django the same connections.
    test_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            for alias, connection in test_connections.items():
                connections[alias] = connection
            chromium = playwright.chromium.launch(
                executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


# --- the demo's rows -----------------------------------------------------------------------


def active_anomaly_every_team_sees():
    """The first Active demo anomaly outside the restricted datastore (seed_demo first)."""
    from anomalies.demo import RESTRICTED_DATASTORE
    from anomalies.models import Anomaly, Status

    active = Anomaly.objects.filter(status=Status.ACTIVE)
    return active.exclude(datastore__name=RESTRICTED_DATASTORE).order_by("pk").first()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    shutil.rmtree(SCREENSHOT_DIR, ignore_errors=True)
    SCREENSHOT_DIR.mkdir(parents=True)
    return SCREENSHOT_DIR


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)  # lets `people` see whether the test failed
    return report


class People:
    """One browser context per person, signed in through the real sign-in page."""

    shots = 0  # numbered across the run, so the folder reads in journey order

    def __init__(self, browser, stack: Stack, screenshot_dir: Path) -> None:
        self.browser = browser
        self.stack = stack
        self.screenshot_dir = screenshot_dir
        self.pages: dict = {}

    def sign_in(self, username: str, password: str = "demo"):
        from playwright.sync_api import expect

        context = self.browser.new_context(base_url=self.stack.site_url, viewport=VIEWPORT)
        context.set_default_timeout(ACTION_MS)
        page = context.new_page()
        self.pages[username] = page
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    def screenshot(self, page, step: str) -> None:
        People.shots += 1
        page.screenshot(path=self.screenshot_dir / f"{People.shots:02d}-{step}.png", full_page=True)

    def save_failure(self, test_name: str) -> None:
        for username, page in self.pages.items():
            stem = self.screenshot_dir / f"FAILED-{test_name}-{username}"
            try:
                stem.with_suffix(".html").write_text(page.content())
                page.screenshot(path=stem.with_suffix(".png"), full_page=True)
                print(f"{username} was on {page.url}: see {stem}.html and .png")
            except Exception as error:  # a crashed page must not hide the test's own error
                print(f"could not save {username}'s page ({page.url}): {error!r}")
        print(self.stack.processes.report())

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


@pytest.fixture
def people(request, browser, e2e_stack, screenshot_dir) -> Iterator[People]:
    crowd = People(browser, e2e_stack, screenshot_dir)
    yield crowd
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        crowd.save_failure(request.node.name)
    crowd.close()
