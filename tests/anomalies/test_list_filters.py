"""The list's own filters beyond status, datastore and type: assignee and UUID prefixes."""

import pytest
from django.urls import reverse

from tests.api import api_client
from tests.conftest import make_anomaly, make_user

LIST_URL = reverse("anomalies:list")
API_URL = "/api/anomalies"


def ids(response) -> list[int]:
    return sorted(anomaly.pk for anomaly in response.context["page"].object_list)


@pytest.fixture
def author_client(client, member_author):
    client.force_login(member_author)
    return client


def test_it_lists_only_what_is_assigned_to_me(author_client, member_author, orders):
    mine, theirs, nobodys = make_anomaly(orders), make_anomaly(orders), make_anomaly(orders)
    mine.assignees.add(member_author)
    theirs.assignees.add(make_user("someone"))

    assert ids(author_client.get(LIST_URL, {"assignee": "me"})) == [mine.pk]
    assert ids(author_client.get(LIST_URL, {"assignee": "none"})) == [nobodys.pk]
    assert ids(author_client.get(LIST_URL)) == sorted([mine.pk, theirs.pk, nobodys.pk])


def test_it_finds_an_anomaly_by_a_uuid_prefix_with_or_without_dashes(author_client, orders):
    wanted, other = make_anomaly(orders), make_anomaly(orders)
    text = str(wanted.uuid)

    for query in (text[:8], text[:13], text[:13].upper(), text.replace("-", "")[:10]):
        assert ids(author_client.get(LIST_URL, {"q": query})) == [wanted.pk], query
    assert other.pk not in ids(author_client.get(LIST_URL, {"q": text[:8]}))


def test_it_does_not_treat_a_short_hex_word_as_a_uuid_prefix(author_client, orders):
    anomaly = make_anomaly(orders)

    assert ids(author_client.get(LIST_URL, {"q": str(anomaly.uuid)[:4]})) == []


def test_it_filters_the_api_list_the_same_way(client, member_author, orders):
    mine, _other = make_anomaly(orders), make_anomaly(orders)
    mine.assignees.add(member_author)

    response = api_client(client, member_author).get(API_URL, {"assignee": "me"})

    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_a_hex_word_finds_both_the_uuid_prefix_and_the_description(author_client, orders):
    """The rare-word search joins its index lookups (text, uuid range, ticket keys) in one
    union: each kind of match still comes back."""
    import uuid

    by_uuid = make_anomaly(orders)
    by_uuid.uuid = uuid.UUID("c0ffee12-0000-4000-8000-000000000001")
    by_uuid.save(update_fields=["uuid"])
    by_text = make_anomaly(orders, description="Batch c0ffee12 wrote duplicate keys.")
    make_anomaly(orders, description="Nothing to see.")

    assert ids(author_client.get(LIST_URL, {"q": "C0FFEE12"})) == sorted([by_uuid.pk, by_text.pk])
