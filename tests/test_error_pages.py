"""The product's own 403/404/500 pages (DEBUG is off in tests), the favicon, and how
expected refusals are logged."""

import logging
import sys
from http import HTTPStatus

from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from qualytics_jira.log_filters import ExpectedRefusalsOnOneLine


def test_it_answers_an_unknown_anomaly_with_the_products_404_page(client, anomaly, outsider):
    client.force_login(outsider)

    response = client.get(reverse("anomalies:detail", args=[anomaly.pk]))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "<h1>Not found</h1>" in response.text
    assert "URLconf" not in response.text  # not Django's technical page
    assert 'class="skip-link"' in response.text


def test_it_answers_a_member_in_settings_with_the_products_403_page(client, member_author):
    client.force_login(member_author)

    response = client.get(reverse("integrations:list"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "t do that here</h1>" in response.text
    assert "Only Managers and Admins can manage integrations." in response.text


def test_it_renders_the_500_page_without_a_request_context():
    response = server_error(RequestFactory().get("/anomalies/"))

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    page = response.content.decode()
    assert "<h1>Something went wrong</h1>" in page
    assert "/static/css/app.css" in page


def test_it_serves_a_favicon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response.url == "/static/favicon.svg"
    assert finders.find("favicon.svg")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get(reverse("login")).text


def test_it_logs_a_403_as_one_line_without_a_traceback(client, member_author, caplog):
    client.force_login(member_author)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(reverse("integrations:list"))

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None
    assert record.getMessage() == (
        "Forbidden (Permission denied): /settings/integrations/ "
        "(Only Managers and Admins can manage integrations.)"
    )


def test_it_logs_a_404_as_one_line_without_a_traceback(client, anomaly, outsider, caplog):
    client.force_login(outsider)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(reverse("anomalies:detail", args=[anomaly.pk]))

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None
    assert record.getMessage() == f"Not Found: /anomalies/{anomaly.pk}/"


def test_it_logs_a_request_for_another_host_as_one_line(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.security"):
        response = client.get("/login/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name.startswith("django.security")]
    assert record.exc_info is None
    assert "attacker.example" in record.getMessage()


def test_it_keeps_the_traceback_of_a_server_error():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/x",),
            sys.exc_info(),
        )
    record.status_code = 500

    ExpectedRefusalsOnOneLine().filter(record)

    assert record.exc_info is not None
    assert record.getMessage() == "Internal Server Error: /x"
