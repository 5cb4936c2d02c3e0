"""The strict Content-Security-Policy (settings.CONTENT_SECURITY_POLICY) breaks no page: in
Chromium, the app's pages and the Django admin load and run their scripts with no violation
reported. Needs only the test server and Chromium (not the whole e2e stack)."""

from __future__ import annotations

import pytest

from tests.conftest import require_service
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

# serialized_rollback: the live server needs committed rows, and the tables are emptied after
# each transactional test; this puts back what the migrations created (the Public team).
pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def chromium():
    require_service("Chromium", CHROMIUM.exists(), f"{CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio loop in this thread, where Django refuses ORM
    # calls: ask for this fixture after every fixture that writes rows (the test makes none).
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Visitor:
    """One signed-in browser page that records every policy violation Chromium reports."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.page = browser.new_page()
        self.page.set_default_timeout(15_000)
        self.violations: list[str] = []
        self.page.on("console", self._note)

    def _note(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{self.page.url}: {message.text}")

    def open(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 400, (path, response)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def sign_in(self, username: str, password: str = "pw") -> None:
        page = self.open("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/anomalies/**")


def test_it_runs_the_app_and_the_admin_under_the_strict_policy(
    live_server, admin, anomaly, jira_integration, chromium
):
    from playwright.sync_api import expect

    visitor = Visitor(chromium, live_server.url)
    visitor.sign_in("admin")

    visitor.open("/anomalies/")
    visitor.open(f"/anomalies/{anomaly.pk}/")
    create = visitor.open(f"/anomalies/{anomaly.pk}/tickets/new/")
    issue_type = create.locator("#create-ticket [name=issue_type]")
    other_type = issue_type.locator("option").nth(1).get_attribute("value")
    # htmx reloads the fields in place (hx-post on the select, no eval, no inline handler).
    with create.expect_response(lambda answer: answer.request.method == "POST"):
        issue_type.select_option(other_type)
    expect(create.locator(".htmx-request, .htmx-added")).to_have_count(0)
    assert issue_type.input_value() == other_type
    # The assignee typeahead (static/js/typeahead.js) fetches its matches from the app.
    create.get_by_role("combobox", name="Find assignee").press_sequentially("ali", delay=40)
    expect(create.get_by_role("option", name="Alice Andersen")).to_be_visible()

    visitor.open("/admin/")
    visitor.open("/admin/anomalies/anomaly/")
    visitor.open(f"/admin/anomalies/anomaly/{anomaly.pk}/change/")
    team = visitor.open("/admin/anomalies/team/add/")
    assert team.locator(".selector").count() == 1  # SelectFilter2 built the two-list widget
    team.get_by_text("Add another Datastore permission").click()
    assert team.locator("tr.dynamic-permissions").count() == 1
    team.locator("tr.dynamic-permissions .select2-selection").click()
    team.locator(".select2-results__option", has_text="Sales Warehouse").click()
    visitor.open("/admin/anomalies/container/?_to_field=id&_popup=1")

    assert visitor.violations == []
