"""The connector contract: every registered connector, against its own simulator over real
HTTP, behaves as integrations/connectors.py says, so the one sync and ticket implementation
in services/ can rely on it. Parametrised over the registry: a connector registered without
a harness (tests/integrations/connector_harnesses.py) fails here."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import pytest

from integrations import errors
from integrations.connectors import (
    CONNECTORS,
    Connector,
    FieldKind,
    StatusCategory,
    TicketDescription,
    TicketDraft,
    get_connector,
)
from integrations.services import open_connector
from tests.integrations.connector_harnesses import HARNESSES


@pytest.fixture(params=sorted(CONNECTORS))
def harness(request):
    kind = request.param
    assert kind in HARNESSES, f"connector {kind!r} has no contract harness"
    harness_class = HARNESSES[kind]
    return harness_class(request.getfixturevalue(harness_class.simulator_fixture))


@pytest.fixture
def connector(harness):
    with open_connector(harness.kind, harness.site_url, harness.credentials) as opened:
        yield opened


def marker() -> str:
    return str(uuid.uuid4())


def draft_for(connector: Connector, scope: str, summary: str) -> TicketDraft:
    """The create form filled in as a user would: defaults, first choices, the summary."""
    spec = connector.describe_create_form(scope, {})
    values = {field.name: field.initial for field in spec.fields if field.initial}
    for field in spec.fields:
        if field.required and field.name not in values and field.choices:
            values[field.name] = field.choices[0][0]
    values["summary"] = summary
    description = TicketDescription(
        user_text="Seen after the nightly load.",
        header="Qualytics Anomaly Linked [2024-01-15 10:30:00 UTC]",
        facts=("Anomaly ID: 1",),
        link_label="View the anomaly in Qualytics: ",
        url="https://qualytics.example.com/anomalies/1/",
    )
    return TicketDraft(spec.scope, summary, description, values, spec)


# --- what it is -------------------------------------------------------------------------------


def test_it_is_registered_under_its_own_kind_with_its_words(harness):
    connector_class = get_connector(harness.kind)

    assert connector_class.kind == harness.kind
    assert connector_class.name and connector_class.ticket_noun and connector_class.note_noun
    assert connector_class.key_pattern.fullmatch(connector_class.key_example)
    assert 0 < connector_class.status_batch_size <= 100


def test_it_round_trips_credentials_and_refuses_a_malformed_pair(harness):
    connector_class = get_connector(harness.kind)

    parsed = connector_class.parse_credentials(f"  {harness.credentials.joined()}  ")

    assert parsed == harness.credentials
    assert harness.credentials.secret not in repr(parsed)
    with pytest.raises(ValueError, match=r"\w"):
        connector_class.parse_credentials("no separator here")


def test_it_normalises_its_site_address_and_refuses_plain_http_elsewhere(harness):
    connector_class = get_connector(harness.kind)

    assert (
        connector_class.normalize_host_url(harness.site_url + "/", allow_insecure_loopback=True)
        == harness.site_url
    )
    with pytest.raises(ValueError, match="https"):
        connector_class.normalize_host_url("http://example.com", allow_insecure_loopback=True)


def test_it_normalises_typed_keys(harness):
    connector_class = get_connector(harness.kind)

    assert connector_class.normalize_key(f" {harness.existing_key.lower()} ") == (
        harness.existing_key
    )
    assert connector_class.normalize_key("orders are late") is None


# --- connection -----------------------------------------------------------------------------


def test_it_passes_the_connection_test_naming_the_account(connector, harness):
    report = connector.check_connection(harness.scope)

    assert report.ok, report.as_json()
    assert report.account_name
    assert all(check.detail for check in report.checks)


def test_it_fails_the_connection_test_at_authentication_with_a_hint(harness):
    with open_connector(harness.kind, harness.site_url, harness.wrong_credentials) as connector:
        report = connector.check_connection(harness.scope)

    first = report.checks[0]
    assert not report.ok
    assert (first.ok, first.headline) == (False, "Authentication failed")
    assert first.hint
    assert all(check.ok is None for check in report.checks[1:])


# --- creating -------------------------------------------------------------------------------


def test_it_describes_the_create_form_with_choices_from_the_remote(connector, harness):
    spec = connector.describe_create_form(harness.scope, {})

    names = [field.name for field in spec.fields]
    assert {"summary", "description"} <= set(names)
    assert spec.field("summary").required and spec.field("summary").max_length
    choices = [f for f in spec.fields if f.kind == FieldKind.CHOICE and f.required]
    assert all(field.choices for field in choices)


def test_it_creates_a_ticket_carrying_a_marker_it_finds_again(connector, harness):
    sent = marker()

    created = connector.create_ticket(
        draft_for(connector, harness.scope, "Nulls in orders"), marker=sent
    )

    assert connector.key_pattern.fullmatch(created.key)
    found = connector.find_created_ticket(harness.scope, sent)
    assert (found.id, found.key) == (created.id, created.key)
    assert connector.find_created_ticket(harness.scope, marker()) is None
    assert connector.get_ticket(created.key).summary == "Nulls in orders"


def test_it_says_a_create_whose_answer_was_lost_has_an_unknown_outcome(connector, harness):
    sent = marker()
    harness.fail("create", action="status_after", status=HTTPStatus.GATEWAY_TIMEOUT)

    with pytest.raises(errors.ConnectorError) as lost:
        connector.create_ticket(draft_for(connector, harness.scope, "Lost answer"), marker=sent)

    assert lost.value.outcome_unknown and not lost.value.permanent
    assert connector.find_created_ticket(harness.scope, sent) is not None


# --- finding and linking ------------------------------------------------------------------------


def test_it_reads_one_ticket_with_a_neutral_status(connector, harness):
    ticket = connector.get_ticket(harness.existing_key)

    assert (ticket.key, ticket.summary) == (harness.existing_key, harness.existing_summary)
    assert ticket.status.name
    assert ticket.status.category in set(StatusCategory)


def test_it_finds_the_key_in_every_browse_url_form_of_its_site_only(connector, harness):
    key = harness.existing_key

    assert connector.key_from_url(connector.browse_url(key)) == key
    assert [connector.key_from_url(url) for url in harness.browse_urls(key)] == (
        [key] * len(harness.browse_urls(key))
    )
    assert connector.key_from_url(harness.other_site_url) is None


def test_it_searches_tickets_by_words_and_by_key(connector, harness):
    by_words = connector.search_tickets(harness.search_words, limit=5)
    by_key = connector.search_tickets(harness.existing_key, limit=5)

    assert harness.existing_key in [ticket.key for ticket in by_words]
    assert by_key[0].key == harness.existing_key


def test_it_reads_many_statuses_and_reports_the_missing(connector, harness):
    lookup = connector.read_statuses([harness.existing_key, harness.missing_key])

    assert set(lookup.found) == {harness.existing_key}
    assert lookup.found[harness.existing_key].status.name
    assert lookup.missing == {harness.missing_key}


def test_it_raises_not_found_for_a_deleted_ticket(connector, harness):
    harness.delete(harness.existing_key)

    with pytest.raises(errors.NotFound):
        connector.get_ticket(harness.existing_key)
    assert connector.read_statuses([harness.existing_key]).missing == {harness.existing_key}


# --- sync notes --------------------------------------------------------------------------------


def test_it_posts_a_note_with_a_marker_it_finds_again(connector, harness):
    sent = marker()
    text = "[2024-01-15 10:30:00 UTC] Qualytics Anomaly Status: Acknowledged"

    note_id = connector.post_note(harness.existing_key, text, marker=sent)

    assert harness.note_texts(harness.existing_key)[-1] == text
    assert connector.find_note(harness.existing_key, sent) == note_id
    assert connector.find_note(harness.existing_key, marker()) is None


def test_it_says_a_note_whose_answer_was_lost_has_an_unknown_outcome(connector, harness):
    sent = marker()
    harness.fail("post_note", action="status_after", status=HTTPStatus.BAD_GATEWAY)

    with pytest.raises(errors.ConnectorError) as lost:
        connector.post_note(harness.existing_key, "Lost answer", marker=sent)

    assert lost.value.outcome_unknown and not lost.value.permanent
    assert connector.find_note(harness.existing_key, sent) is not None
    assert harness.note_texts(harness.existing_key).count("Lost answer") == 1


# --- errors: the shared tree -----------------------------------------------------------------


def test_it_maps_refused_credentials_to_credentials_rejected(harness):
    with (
        open_connector(harness.kind, harness.site_url, harness.wrong_credentials) as connector,
        pytest.raises(errors.CredentialsRejected) as refused,
    ):
        connector.get_ticket(harness.existing_key)

    assert refused.value.permanent and refused.value.hint
    assert harness.wrong_credentials.secret not in str(refused.value)


def test_it_maps_a_rate_limit_to_rate_limited_with_the_retry_time(connector, harness):
    harness.fail("get_ticket", status=HTTPStatus.TOO_MANY_REQUESTS, headers={"Retry-After": "7"})

    with pytest.raises(errors.RateLimited) as limited:
        connector.get_ticket(harness.existing_key)

    assert limited.value.retry_after == 7
    assert not limited.value.permanent


def test_it_maps_an_outage_to_a_transient_error(connector, harness):
    harness.fail("get_ticket", status=HTTPStatus.SERVICE_UNAVAILABLE)

    with pytest.raises(errors.Transient) as outage:
        connector.get_ticket(harness.existing_key)

    assert not outage.value.permanent and not outage.value.outcome_unknown


def test_it_maps_a_forbidden_note_to_forbidden(connector, harness):
    harness.fail("post_note", status=HTTPStatus.FORBIDDEN)

    with pytest.raises(errors.Forbidden):
        connector.post_note(harness.existing_key, "Refused", marker=marker())
