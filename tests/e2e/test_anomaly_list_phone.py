"""The anomaly list on a phone (390×844): nothing scrolls sideways, and the bulk bar stays
folded away until a row is ticked, then offers only the chosen action's options."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from .conftest import People

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo() -> None:
    call_command("seed_demo", anomalies=20, stdout=io.StringIO())


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_it_fits_a_phone_and_shows_the_bulk_bar_only_after_a_tick(people: People, demo):
    page = people.sign_in("author")
    page.set_viewport_size(PHONE)
    page.goto("/anomalies/")
    bar = page.get_by_role("form", name="Bulk actions")

    expect(page.locator("table.anomalies tbody tr").first).to_be_visible()
    expect(bar).to_be_hidden()
    assert scroll_width(page) <= PHONE["width"]

    page.locator("input.row-select").first.check()
    expect(bar).to_be_visible()
    expect(bar.get_by_text("1 row selected")).to_be_visible()
    bar.get_by_label("Action").select_option("archive")
    expect(bar.get_by_label("Reason")).to_be_visible()
    expect(bar.get_by_label("Comment", exact=True)).to_be_hidden()
    people.screenshot(page, "phone-list-bulk-bar")
    assert scroll_width(page) <= PHONE["width"]

    page.locator("input.row-select").first.uncheck()
    expect(bar).to_be_hidden()
