"""Token authentication of the JSON API, its JSON refusals, and `create_api_token`."""

import hashlib
import io
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anomalies.api_http import MAX_JSON_BYTES
from anomalies.models import ApiToken, Comment
from tests.api import api_client
from tests.conftest import make_user

LIST_URL = reverse("anomalies_api:anomalies")


def comments_url(anomaly) -> str:
    return reverse("anomalies_api:comments", args=[anomaly.pk])


def test_it_refuses_a_request_without_a_token(client, anomaly):
    response = client.get(LIST_URL)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"].startswith("Authentication required")
    assert response["WWW-Authenticate"] == 'Token realm="api"'


@pytest.mark.parametrize("header", ["Token qj_not-a-key", "Token ", "Basic dXNlcjpwdw==", "qj_x"])
def test_it_refuses_a_bad_authorization_header(client, anomaly, header):
    response = client.get(LIST_URL, headers={"Authorization": header})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert set(response.json()) == {"error", "fields"}


def test_it_refuses_a_revoked_token(client, member_author, anomaly):
    api = api_client(client, member_author)
    api.token.revoke()

    response = api.get(LIST_URL)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "revoked" in response.json()["error"]


def test_it_refuses_the_token_of_a_deactivated_user(client, member_author, anomaly):
    api = api_client(client, member_author)
    member_author.is_active = False
    member_author.save(update_fields=["is_active"])

    assert api.get(LIST_URL).status_code == HTTPStatus.UNAUTHORIZED


def test_it_accepts_the_bearer_scheme(client, member_author, anomaly):
    api = api_client(client, member_author)

    response = client.get(LIST_URL, headers={"Authorization": f"Bearer {api.key}"})

    assert response.status_code == HTTPStatus.OK
    assert [row["id"] for row in response.json()["results"]] == [anomaly.pk]


def test_it_ignores_a_signed_in_session(client, member_author, anomaly):
    client.force_login(member_author)

    assert client.get(LIST_URL).status_code == HTTPStatus.UNAUTHORIZED


def test_it_acts_as_the_token_user_not_the_session_user(client, admin, member_author, anomaly):
    api = api_client(client, member_author)
    client.force_login(admin)

    api.post(comments_url(anomaly), {"text": "Seen it."})

    assert Comment.objects.get().author == member_author


def test_it_needs_no_csrf_token_with_an_api_token(member_author, anomaly):
    api = api_client(Client(enforce_csrf_checks=True), member_author)

    response = api.post(comments_url(anomaly), {"text": "From a script."})

    assert response.status_code == HTTPStatus.CREATED


def test_it_records_when_a_token_was_last_used(client, member_author, anomaly):
    api = api_client(client, member_author)
    assert api.token.last_used_at is None

    api.get(LIST_URL)

    api.token.refresh_from_db()
    assert timezone.now() - api.token.last_used_at < timedelta(seconds=5)


def test_it_writes_last_used_at_at_most_once_a_minute(client, member_author, anomaly):
    api = api_client(client, member_author)
    recently = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=api.token.pk).update(last_used_at=recently)

    api.get(LIST_URL)

    api.token.refresh_from_db()
    assert api.token.last_used_at == recently


def test_it_stores_only_the_hash_of_the_key(client, member_author):
    token, key = ApiToken.objects.issue(member_author, name="detector")

    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(value) for value in stored.values()}
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(stored["prefix"])


def test_it_answers_a_wrong_method_with_405_and_the_allowed_ones(client, member_author, anomaly):
    api = api_client(client, member_author)

    response = api.delete(LIST_URL)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, POST"
    assert "DELETE is not allowed" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "The request body is not valid JSON: "),
        ('["a list"]', "The request body must be a JSON object."),
        ('"text"', "The request body must be a JSON object."),
    ],
)
def test_it_refuses_a_body_that_is_not_a_json_object(client, member_author, anomaly, body, message):
    api = api_client(client, member_author)

    response = client.post(
        comments_url(anomaly), body, content_type="application/json", headers=api.headers()
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"].startswith(message)


def test_it_refuses_a_body_over_the_size_limit(client, member_author, anomaly):
    api = api_client(client, member_author)

    response = api.post(comments_url(anomaly), {"text": "x" * MAX_JSON_BYTES})

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert not Comment.objects.exists()


# --- create_api_token and the admin -----------------------------------------------------


def test_it_prints_a_working_key_once_from_create_api_token(client, member_author, anomaly):
    out = io.StringIO()

    call_command("create_api_token", "author", "--name", "nightly detector", stdout=out)

    token = ApiToken.objects.get()
    key = out.getvalue().split("Key (shown only now): ")[1].split()[0]
    assert (token.user, token.name) == (member_author, "nightly detector")
    assert out.getvalue().count(key) == 2  # the key, and the header to send it in
    response = client.get(LIST_URL, headers={"Authorization": f"Token {key}"})
    assert response.status_code == HTTPStatus.OK


def test_it_names_an_unknown_user_in_create_api_token(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_token", "nobody")
    assert not ApiToken.objects.exists()


def test_it_shows_tokens_in_the_admin_without_their_key(client, admin, member_author):
    token, key = ApiToken.objects.issue(member_author, name="detector")
    client.force_login(admin)

    listing = client.get(reverse("admin:anomalies_apitoken_changelist")).content.decode()
    change = client.get(reverse("admin:anomalies_apitoken_change", args=[token.pk]))

    assert token.prefix in listing and "detector" in listing
    for page in (listing, change.content.decode()):
        assert key not in page and token.key_hash not in page
    assert client.get(reverse("admin:anomalies_apitoken_add")).status_code == HTTPStatus.FORBIDDEN


def test_it_shows_managers_only_their_own_tokens_in_the_admin(client, manager, member_author):
    theirs, _ = ApiToken.objects.issue(member_author, name="someone else's")
    own, _ = ApiToken.objects.issue(manager, name="mine")
    client.force_login(manager)

    listing = client.get(reverse("admin:anomalies_apitoken_changelist")).content.decode()

    assert own.prefix in listing and theirs.prefix not in listing


def test_it_revokes_tokens_from_the_admin(client, admin, member_author):
    token, _ = ApiToken.objects.issue(member_author)
    client.force_login(admin)

    client.post(
        reverse("admin:anomalies_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_authenticates_each_key_as_its_own_token(db):
    _first, key_one = ApiToken.objects.issue(make_user("one"))
    second, key_two = ApiToken.objects.issue(make_user("two"))

    assert key_one != key_two
    assert ApiToken.objects.authenticate(key_two) == second
