"""Sign-in throttling (django-axes, configured in settings and anomalies/signin.py): after
AXES_FAILURE_LIMIT wrong passwords for one account from one address, both sign-in pages
refuse that account from there for a cool-off, saying so beside the form."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.urls import reverse

from anomalies.models import ApiToken

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
CLIENT_ADDRESS = "203.0.113.7"


def sign_in(client, user, password: str = "pw", *, url: str = LOGIN, **meta):
    meta.setdefault("REMOTE_ADDR", CLIENT_ADDRESS)
    return client.post(url, {"username": user.username, "password": password}, **meta)


def fail_until_locked(client, user, *, url: str = LOGIN, **meta):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, user, "wrong", url=url, **meta)
    return response


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def pass_time(minutes: float) -> None:
    """As if the counted failures happened that much earlier."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_it_refuses_the_right_password_after_too_many_wrong_ones(client, member_author):
    fail_until_locked(client, member_author)

    response = sign_in(client, member_author)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = response.content.decode()
    assert "Too many failed sign-ins. Try again in 15 minutes." in page
    assert 'name="password"' in page  # the message sits beside the form
    assert not signed_in(client)


def test_it_says_so_on_the_failure_that_reaches_the_limit(client, member_author):
    response = fail_until_locked(client, member_author)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many failed sign-ins." in response.content.decode()


def test_it_still_lets_the_user_in_before_the_limit(client, member_author):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, member_author, "wrong").status_code == HTTPStatus.OK

    response = sign_in(client, member_author)

    assert response.status_code == HTTPStatus.FOUND
    assert signed_in(client)


def test_it_counts_down_the_minutes_left(client, member_author):
    fail_until_locked(client, member_author)
    pass_time(minutes=10)

    response = sign_in(client, member_author)

    assert "Try again in 5 minutes." in response.content.decode()


def test_it_lets_the_user_in_again_after_the_cool_off(client, member_author):
    fail_until_locked(client, member_author)
    pass_time(minutes=settings.AXES_COOLOFF_TIME.total_seconds() / 60 + 1)

    response = sign_in(client, member_author)

    assert response.status_code == HTTPStatus.FOUND
    assert signed_in(client)


def test_it_forgets_the_failures_after_a_success(client, member_author):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, member_author, "wrong")
    assert sign_in(client, member_author).status_code == HTTPStatus.FOUND
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, member_author, "wrong")

    assert sign_in(client, member_author).status_code == HTTPStatus.FOUND


def test_it_leaves_other_accounts_on_the_same_address_alone(client, member_author, outsider):
    fail_until_locked(client, member_author)

    response = sign_in(client, outsider)

    assert response.status_code == HTTPStatus.FOUND
    assert signed_in(client)


def test_it_leaves_the_account_usable_from_another_address(client, member_author):
    fail_until_locked(client, member_author)

    response = sign_in(client, member_author, REMOTE_ADDR="198.51.100.20")

    assert response.status_code == HTTPStatus.FOUND


def test_it_throttles_the_admin_sign_in_too(client, admin):
    fail_until_locked(client, admin, url=ADMIN_LOGIN)

    response = sign_in(client, admin, url=ADMIN_LOGIN)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = response.content.decode()
    assert "Too many failed sign-ins. Try again in 15 minutes." in page
    assert 'id="login-form"' in page
    assert not signed_in(client)


def test_it_counts_both_sign_in_pages_together(client, admin):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, admin, "wrong", url=ADMIN_LOGIN)
    sign_in(client, admin, "wrong", url=LOGIN)

    assert sign_in(client, admin).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_it_ignores_a_forged_forwarded_for_without_trusted_proxies(client, member_author):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member_author, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response = sign_in(client, member_author, HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_it_takes_the_client_address_from_a_trusted_proxy(client, member_author, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # The proxy appends the address it saw; what the client put before it is ignored.
    fail_until_locked(client, member_author, HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.5", **proxy)

    locked = sign_in(client, member_author, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.5", **proxy)
    other_client = sign_in(client, member_author, HTTP_X_FORWARDED_FOR="198.51.100.6", **proxy)

    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert other_client.status_code == HTTPStatus.FOUND
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.5"}


def test_it_never_stores_the_password_tried(client, member_author):
    sign_in(client, member_author, "hunter2-secret")

    attempt = AccessAttempt.objects.get()
    assert "hunter2-secret" not in attempt.post_data


def test_it_does_not_throttle_the_api_token_of_a_locked_out_user(client, member_author, anomaly):
    _, key = ApiToken.objects.issue(member_author)
    fail_until_locked(client, member_author)

    response = client.get("/api/anomalies", headers={"Authorization": f"Token {key}"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 1


def test_it_counts_no_failed_api_token_as_a_sign_in(client, member_author):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.get("/api/anomalies", headers={"Authorization": "Token wrong"})

    assert not AccessAttempt.objects.exists()
    assert sign_in(client, member_author).status_code == HTTPStatus.FOUND
