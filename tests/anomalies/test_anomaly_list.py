import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anomalies.forms import SORTS
from anomalies.models import Anomaly, Container, Datastore, FailedCheck, Level, Status
from tests.conftest import grant, make_anomaly

LIST_URL = reverse("anomalies:list")


def ids(response) -> list[int]:
    return [anomaly.pk for anomaly in response.context["page"].object_list]


@pytest.fixture
def author_client(client, member_author):
    client.force_login(member_author)
    return client


def test_it_shows_open_anomalies_newest_first_by_default(author_client, orders):
    now = timezone.now()
    old = make_anomaly(orders, detected_at=now - timedelta(days=3))
    new = make_anomaly(orders, detected_at=now)
    make_anomaly(orders, status=Status.RESOLVED)

    response = author_client.get(LIST_URL)

    assert ids(response) == [new.pk, old.pk]


@pytest.mark.parametrize(
    ("status_filter", "expected"),
    [
        ("open", {"Active", "Acknowledged"}),
        ("archived", {"Resolved", "Discarded"}),
        ("Acknowledged", {"Acknowledged"}),
        ("Discarded", {"Discarded"}),
        ("all", {"Active", "Acknowledged", "Resolved", "Discarded"}),
    ],
)
def test_it_filters_by_status_group_and_status(author_client, orders, status_filter, expected):
    for status in ("Active", "Acknowledged", "Resolved", "Discarded"):
        make_anomaly(orders, status=status)

    response = author_client.get(LIST_URL, {"status": status_filter})

    assert {anomaly.status for anomaly in response.context["page"].object_list} == expected


def test_it_counts_each_status_within_the_other_filters(author_client, orders, warehouse):
    lake = Datastore.objects.create(name="Lake")
    grant(author_client_user(author_client), lake, Level.REPORTER)
    events = Container.objects.create(datastore=lake, name="events")
    make_anomaly(orders, status="Active")
    make_anomaly(orders, status="Resolved")
    make_anomaly(events, status="Active")

    response = author_client.get(LIST_URL, {"datastore": warehouse.pk, "status": "all"})

    counts = response.context["counts"]
    assert (counts["Active"].value, counts["Resolved"].value, counts["Acknowledged"].value) == (
        1,
        1,
        0,
    )
    assert response.context["page"].total.value == 2


def author_client_user(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_it_matches_plain_digits_against_ids_and_text(author_client, orders):
    by_text = make_anomaly(orders, description="Expected 9999 rows")
    FailedCheck.objects.filter(anomaly=by_text).delete()

    assert by_text.pk in ids(author_client.get(LIST_URL, {"q": "9999"}))
    assert by_text.pk in ids(author_client.get(LIST_URL, {"q": str(by_text.pk)}))


def test_it_filters_by_type(author_client, orders):
    make_anomaly(orders, anomaly_type="record")
    shape = make_anomaly(orders, anomaly_type="shape")

    assert ids(author_client.get(LIST_URL, {"type": "shape"})) == [shape.pk]


@pytest.mark.parametrize("field", ["id", "uuid", "description", "check"])
def test_it_searches_id_uuid_description_and_check_messages(author_client, orders, field):
    target = make_anomaly(orders, description="Row count dropped below baseline")
    FailedCheck.objects.create(anomaly=target, rule_type="volumetric", message="zebra-count low")
    make_anomaly(orders, description="Nulls in email")
    query = {
        "id": f"#{target.pk}",
        "uuid": str(target.uuid),
        "description": "dropped BELOW",
        "check": "zebra",
    }[field]

    assert ids(author_client.get(LIST_URL, {"q": query})) == [target.pk]


@pytest.mark.parametrize(
    ("sort", "expected_weights"), [("-weight", [34, 8, 1]), ("weight", [1, 8, 34])]
)
def test_it_sorts_by_weight(author_client, orders, sort, expected_weights):
    for weight in (8, 34, 1):
        make_anomaly(orders, weight=weight)

    response = author_client.get(LIST_URL, {"sort": sort})

    assert [a.weight for a in response.context["page"].object_list] == expected_weights


def test_it_sorts_oldest_first(author_client, orders):
    now = timezone.now()
    newer = make_anomaly(orders, detected_at=now)
    older = make_anomaly(orders, detected_at=now - timedelta(days=1))

    assert ids(author_client.get(LIST_URL, {"sort": "detected"})) == [older.pk, newer.pk]


def bulk_anomalies(container: Container, count: int) -> None:
    now = timezone.now()
    Anomaly.objects.bulk_create(
        Anomaly(
            datastore=container.datastore,
            container=container,
            anomaly_type="record",
            description=f"anomaly {i}",
            fingerprint=f"bulk-{i}",
            detected_at=now - timedelta(minutes=i),
        )
        for i in range(count)
    )


def follow(client, response, rel: str):
    """Follow the pager link labelled `rel` (e.g. "Next →") of a list page."""
    pager = response.text.split('class="pager"', 1)[1]
    for anchor in pager.split("<a ")[1:]:
        if rel in anchor:
            href = anchor.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            return client.get(LIST_URL + href)
    raise AssertionError(f"no {rel!r} link")


def test_it_pages_by_fifty_keeping_the_filters(author_client, orders):
    bulk_anomalies(orders, 120)

    first = author_client.get(LIST_URL, {"q": "anomaly", "sort": "-detected"})
    second = follow(author_client, first, "Next")
    third = follow(author_client, second, "Next")

    assert len(ids(first)) == len(ids(second)) == 50
    assert len(ids(third)) == 20
    assert not set(ids(first)) & set(ids(second))
    assert "Next" not in third.text.split('class="pager"', 1)[1]
    assert "q=anomaly" in third.request["QUERY_STRING"]
    assert "50 of 120" in first.text


@pytest.mark.parametrize("sort", ["-detected", "detected", "-weight", "weight"])
def test_it_walks_back_and_to_the_last_page_in_every_sort(author_client, orders, sort):
    bulk_anomalies(orders, 120)
    Anomaly.objects.filter(pk__in=Anomaly.objects.order_by("pk").values("pk")[:70]).update(weight=5)
    everything = list(Anomaly.objects.order_by(*SORTS[sort]).values_list("pk", flat=True))

    first = author_client.get(LIST_URL, {"sort": sort})
    second = follow(author_client, first, "Next")
    last = follow(author_client, first, "Last")
    back = follow(author_client, second, "Previous")

    assert ids(first) + ids(second) == everything[:100]
    # Pages are counted from the first: the last one holds what is left (120 = 50 + 50 + 20).
    assert ids(last) == everything[100:]
    assert ids(back) == everything[:50]
    assert "First" in second.text and "Last" not in last.text.split('class="pager"', 1)[1]


def test_it_says_when_a_count_stops_at_the_cap(author_client, orders, monkeypatch):
    monkeypatch.setattr("anomalies.listing.COUNT_CAP", 5)
    bulk_anomalies(orders, 8)
    make_anomaly(orders, status=Status.RESOLVED)

    response = author_client.get(LIST_URL)

    assert str(response.context["counts"]["Active"]) == "5+"
    assert str(response.context["counts"]["Resolved"]) == "1"
    assert "5+ matching" in response.text and "counted up to 5" in response.text


def test_it_offers_only_the_selected_rows_when_the_count_is_capped(
    author_client, orders, monkeypatch
):
    monkeypatch.setattr("anomalies.listing.COUNT_CAP", 5)
    bulk_anomalies(orders, 8)

    page = author_client.get(LIST_URL).text

    bar = page.split('id="bulk"', 1)[1].split("</form>", 1)[0]
    assert 'value="all" disabled> All 5+ matching (at most 1,000 at once' in bar
    assert page.count('type="checkbox" name="ids"') == 8


def test_it_offers_all_matching_when_the_count_is_exact(author_client, orders):
    bulk_anomalies(orders, 3)

    page = author_client.get(LIST_URL).text

    assert 'value="all"> All 3 matching</label>' in page
    for anomaly in Anomaly.objects.all():
        assert (
            f'<input type="checkbox" name="ids" value="{anomaly.pk}" form="bulk" '
            f'class="row-select" aria-label="Select #{anomaly.pk}">' in page
        )


def test_it_finds_a_common_word_and_a_rare_one_alike(author_client, orders, monkeypatch):
    monkeypatch.setattr("anomalies.filters.COMMON_WORD_MATCHES", 3)
    bulk_anomalies(orders, 6)  # "anomaly 0" … "anomaly 5": a common word past the probe
    rare = make_anomaly(orders, description="Nothing like the others")
    FailedCheck.objects.create(anomaly=rare, rule_type="volumetric", message="anomaly-free zone")

    common = ids(author_client.get(LIST_URL, {"q": "ANOMALY"}))
    once = ids(author_client.get(LIST_URL, {"q": "like the"}))

    assert len(common) == 7 and rare.pk in common  # the check message matches too
    assert once == [rare.pk]


def test_it_counts_a_search_from_a_sample_and_says_so(author_client, orders, monkeypatch):
    monkeypatch.setattr("anomalies.listing.COUNT_CAP", 4)
    bulk_anomalies(orders, 6)

    response = author_client.get(LIST_URL, {"q": "anomaly"})

    assert str(response.context["counts"]["Active"]) == "5+"
    assert "counted up to 4" in response.text


@pytest.mark.parametrize(
    "cursor",
    [
        {"after": "yesterday~x"},
        {"before": "1~"},
        {"after": "2026-13-45T00:00:00~5"},
        {"after": "99999999999~5", "sort": "-weight"},
    ],
)
def test_it_ignores_a_cursor_it_did_not_make(author_client, orders, cursor):
    bulk_anomalies(orders, 3)

    response = author_client.get(LIST_URL, cursor)

    assert response.status_code == HTTPStatus.OK
    assert len(ids(response)) == 3


def test_it_ignores_a_page_past_the_end(author_client, orders):
    bulk_anomalies(orders, 3)

    response = author_client.get(LIST_URL, {"page": 99})

    assert response.status_code == HTTPStatus.OK
    assert len(ids(response)) == 3


def test_it_shows_only_what_the_users_teams_can_see(client, orders, member_reporter, outsider):
    anomaly = make_anomaly(orders)

    client.force_login(outsider)
    assert ids(client.get(LIST_URL)) == []
    client.force_login(member_reporter)
    assert ids(client.get(LIST_URL)) == [anomaly.pk]


def test_it_rejects_a_datastore_filter_the_user_cannot_see(author_client, orders):
    hidden = Datastore.objects.create(name="Hidden")
    hidden_container = Container.objects.create(datastore=hidden, name="t")
    make_anomaly(hidden_container)
    visible = make_anomaly(orders)

    # An invalid choice is ignored, not honoured: the hidden anomaly never shows.
    assert ids(author_client.get(LIST_URL, {"datastore": hidden.pk})) == [visible.pk]


# session, user, visible datastores, the search's common-word probe, per-status counts, the
# page of rows, the keys that open the next pages' links (and, past the first page, the
# previous ones'), the rows' tickets and the page's pending rows (both registered by
# integrations), the bulk bar's assignable users and connected integration (its ticket
# actions' inputs), and the saved views (none here).
QUERIES_BY_PAGE = {"": 12, "after": 13, "last": 12}


@pytest.mark.parametrize("rows", [3, 60])
@pytest.mark.parametrize("cursor", ["", "after", "last"])
def test_it_runs_the_same_number_of_queries_whatever_the_row_count(
    author_client, orders, rows, cursor
):
    bulk_anomalies(orders, rows)
    query = {"q": "anomaly"}
    if cursor == "after":
        query["after"] = f"{timezone.now().isoformat()}~999999"
    elif cursor == "last":
        query["page"] = "last"

    with CaptureQueriesContext(connection) as queries:
        response = author_client.get(LIST_URL, query)

    assert response.status_code == HTTPStatus.OK
    assert len(queries) == QUERIES_BY_PAGE[cursor], [q["sql"] for q in queries]


def test_it_shows_what_other_apps_note_on_each_row(author_client, orders):
    from django.utils.html import format_html

    from anomalies import sections

    noted, plain = make_anomaly(orders), make_anomaly(orders)

    def annotator(ids):
        return {noted.pk: format_html("<em class='note'>noted {}</em>", noted.pk)}

    sections.register_row_annotator(annotator)
    try:
        response = author_client.get(LIST_URL)
    finally:
        sections._row_annotators.remove(annotator)

    rows = {anomaly.pk: anomaly.row_notes for anomaly in response.context["page"].object_list}
    assert rows[plain.pk] == []
    assert f"<em class='note'>noted {noted.pk}</em>" in response.text


def test_it_escapes_every_value_a_row_shows(author_client, warehouse):
    container = Container.objects.create(datastore=warehouse, name="<b>orders</b>")
    warehouse.name = '"><img src=x onerror=alert(1)>'
    warehouse.save()
    make_anomaly(container, description="<script>alert('x')</script>")

    page = author_client.get(LIST_URL).text

    assert "<script>alert" not in page and "<img src=x" not in page and "<b>orders" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;b&gt;orders&lt;/b&gt;" in page


# --- sorting by the column headers --------------------------------------------------------


def header(page: str, label: str) -> str:
    """The <th> of one column."""
    for cell in page.split("<th")[1:]:
        if f'">{label}<' in cell.split("</th>", 1)[0]:
            return cell.split("</th>", 1)[0]
    raise AssertionError(f"no {label!r} header")


def header_href(page: str, label: str) -> str:
    return header(page, label).split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def test_it_sorts_by_a_header_and_reverses_on_a_second_click(author_client, orders):
    light, heavy = make_anomaly(orders, weight=1), make_anomaly(orders, weight=9)

    page = author_client.get(LIST_URL, {"q": "records"}).text
    by_weight = author_client.get(LIST_URL + header_href(page, "Weight"))
    reversed_ = author_client.get(LIST_URL + header_href(by_weight.text, "Weight"))

    assert 'aria-sort="descending"' in header(page, "Detected")
    assert "aria-sort" not in header(page, "Weight")
    assert ids(by_weight) == [heavy.pk, light.pk]
    assert 'aria-sort="descending"' in header(by_weight.text, "Weight")
    assert ids(reversed_) == [light.pk, heavy.pk]
    assert 'aria-sort="ascending"' in header(reversed_.text, "Weight")
    assert "q=records" in reversed_.request["QUERY_STRING"]  # the filters stay


@pytest.mark.parametrize("sort", ["-id", "id", "status", "-status"])
def test_it_pages_through_the_id_and_status_sorts(author_client, orders, sort):
    bulk_anomalies(orders, 60)
    Anomaly.objects.filter(pk__in=Anomaly.objects.order_by("pk").values("pk")[:25]).update(
        status=Status.ACKNOWLEDGED
    )
    everything = list(Anomaly.objects.order_by(*SORTS[sort]).values_list("pk", flat=True))

    first = author_client.get(LIST_URL, {"sort": sort, "size": "25"})
    second = follow(author_client, first, "Next")
    third = follow(author_client, second, "Next")
    back = follow(author_client, third, "Previous")

    assert ids(first) + ids(second) + ids(third) == everything
    assert ids(back) == everything[25:50]


# --- page numbers and sizes ---------------------------------------------------------------


def page_links(page: str) -> dict[str, str]:
    """The pager's numbered links: number → href ("current" for the page shown)."""
    pager = page.split('class="page-numbers"', 1)[1].split("</span>\n  \n", 1)[0]
    links = {}
    for number, href in re.findall(r'<a class="page-number" href="([^"]*)">.*?(\d+)</a>', pager):
        links[href] = number.replace("&amp;", "&")
    current = re.search(r'aria-current="page">.*?(\d+)</span>', pager)
    links["current"] = current.group(1) if current else ""
    return links


def test_it_numbers_the_pages_and_opens_any_shown(author_client, orders):
    bulk_anomalies(orders, 130)  # 6 pages of 25 (the last holds 5)
    everything = list(Anomaly.objects.order_by(*SORTS["-detected"]).values_list("pk", flat=True))

    first = author_client.get(LIST_URL, {"size": "25"})
    links = page_links(first.text)
    third = author_client.get(LIST_URL + links["3"])
    around_third = page_links(third.text)
    fifth = author_client.get(LIST_URL + around_third["5"])
    last = author_client.get(LIST_URL + page_links(fifth.text)["6"])

    assert sorted(k for k in links if k != "current") == ["2", "3", "6"]
    assert links["current"] == "1"
    assert ids(third) == everything[50:75]
    assert sorted(k for k in around_third if k != "current") == ["1", "2", "4", "5", "6"]
    assert ids(fifth) == everything[100:125]
    assert ids(author_client.get(LIST_URL + page_links(fifth.text)["3"])) == everything[50:75]
    assert ids(last) == everything[125:]
    assert "page 6 of 6" in last.text
    assert ids(author_client.get(LIST_URL + page_links(last.text)["4"])) == everything[75:100]


def test_it_numbers_pages_past_the_count_cap_from_the_first(author_client, orders, monkeypatch):
    monkeypatch.setattr("anomalies.listing.COUNT_CAP", 30)
    bulk_anomalies(orders, 80)

    first = author_client.get(LIST_URL, {"size": "25"})
    second = author_client.get(LIST_URL + page_links(first.text)["2"])
    last = follow(author_client, first, "Last")

    # Past the cap the number of pages is unknown: no last number, but the neighbours are.
    assert sorted(k for k in page_links(second.text) if k != "current") == ["1", "3", "4"]
    assert "page 2 of" not in second.text
    assert 'class="page-numbers"' not in last.text  # reached from the end: its number is unknown
    assert len(ids(last)) == 25


@pytest.mark.parametrize("size", [25, 50, 100])
def test_it_shows_the_chosen_page_size(author_client, orders, size):
    bulk_anomalies(orders, 120)

    response = author_client.get(LIST_URL, {"size": str(size)})

    assert len(ids(response)) == size
    assert f'<option value="{size}" selected>{size}</option>' in response.text


def test_it_ignores_a_page_size_it_does_not_offer(author_client, orders):
    bulk_anomalies(orders, 60)

    response = author_client.get(LIST_URL, {"size": "5000"})

    assert len(ids(response)) == 50
    assert "Per page: “5000” ignored" in response.text


# --- filter values and Reset ----------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["active", "ACTIVE", "Active"])
def test_it_reads_filter_values_in_any_case(author_client, orders, spelling):
    active = make_anomaly(orders)
    make_anomaly(orders, status=Status.ACKNOWLEDGED)

    response = author_client.get(LIST_URL, {"status": spelling, "type": "RECORD"})

    assert ids(response) == [active.pk]
    assert 'class="active" aria-current="page">Active' in response.text
    assert "ignored" not in response.text


def test_it_says_which_value_it_ignored_and_keeps_the_other_filters(author_client, orders):
    make_anomaly(orders, description="nothing to see")
    wanted = make_anomaly(orders, description="orders went missing")

    response = author_client.get(LIST_URL, {"status": "bogus", "q": "missing"})

    assert ids(response) == [wanted.pk]
    assert "Status: “bogus” ignored" in response.text


def reset_shown(response) -> bool:
    return ">Reset</a>" in response.text


def test_it_offers_reset_only_when_a_filter_is_set(author_client, orders):
    bulk_anomalies(orders, 60)

    plain = author_client.get(LIST_URL)
    second_page = follow(author_client, plain, "Next")
    sorted_ = author_client.get(LIST_URL, {"sort": "weight", "size": "25", "status": "open"})

    assert not reset_shown(plain)
    assert not reset_shown(second_page)
    assert not reset_shown(sorted_)  # sort and page size arrange the list, they filter nothing
    assert reset_shown(author_client.get(LIST_URL, {"q": "anomaly"}))
    assert reset_shown(author_client.get(LIST_URL, {"status": "archived"}))
    assert reset_shown(author_client.get(LIST_URL, {"type": "shape"}))
