"""Production switches from the environment: HTTPS, HSTS, the proxy header, the
Content-Security-Policy and private caching, and `check --deploy` clean with the README's
production example."""

import os
import re
import secrets
import shlex
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from anomalies.models import ApiToken

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
STRICT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}


def policy(response) -> dict[str, str]:
    directives = (
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return {name: sources for name, sources in directives}


def readme_production_environment() -> dict[str, str]:
    """The variables of the `export` in README "Production", real secrets for its `...`."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Production\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    command = re.search(r"^export (.*?[^\\])$", block, re.MULTILINE | re.DOTALL).group(1)
    variables = dict(word.split("=", 1) for word in shlex.split(command.replace("\\\n", " ")))
    for name, value in variables.items():
        if value == "...":
            variables[name] = secrets.token_urlsafe(50)
    return variables


def check_deploy(variables: dict[str, str]) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "qualytics_jira.settings",
        **variables,
        # The checks reach no server; an in-memory database keeps the run self-contained.
        "DATABASE_URL": "sqlite:///:memory:",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_with_the_readme_production_example():
    variables = readme_production_environment()
    assert variables["DEBUG"] == "0"

    result = check_deploy(variables)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_names_what_is_missing_without_the_https_switches():
    variables = {
        name: value
        for name, value in readme_production_environment().items()
        if not name.startswith("SECURE_")
    }

    result = check_deploy(variables)

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008"):
        assert warning in result.stderr + result.stdout


def test_it_refuses_a_malformed_proxy_header_setting(monkeypatch):
    from qualytics_jira.settings import _proxy_ssl_header

    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
    with pytest.raises(ImproperlyConfigured, match="HTTP_X_FORWARDED_PROTO,https"):
        _proxy_ssl_header()

    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https")
    assert _proxy_ssl_header() == ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def behind_tls_proxy(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


def test_it_redirects_plain_http_to_https(client, behind_tls_proxy, db):
    response = client.get(reverse("login"))

    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == "https://testserver/login/"


def test_it_serves_what_the_proxy_received_over_https_with_hsts(client, behind_tls_proxy, db):
    response = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == HTTPStatus.OK
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


def test_it_sends_no_hsts_over_plain_http_by_default(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == HTTPStatus.OK
    assert not response.has_header("Strict-Transport-Security")


@pytest.fixture
def api_key(member_author) -> str:
    return ApiToken.objects.issue(member_author)[1]


def answers_for(client, user, api_key: str, anomaly) -> dict[str, object]:
    client.force_login(user)
    return {
        "list": client.get(reverse("anomalies:list")),
        "detail": client.get(reverse("anomalies:detail", args=[anomaly.pk])),
        "api": client.get("/api/anomalies", headers={"Authorization": f"Token {api_key}"}),
        "api refusal": client.get("/api/anomalies"),
    }


def test_it_sends_the_strict_policy_and_private_caching_on_every_page(
    client, member_author, api_key, anomaly
):
    answers = answers_for(client, member_author, api_key, anomaly)
    client.logout()
    answers["sign-in page"] = client.get(reverse("login"))

    for name, response in answers.items():
        assert response.status_code < 500, name
        assert policy(response) == STRICT_POLICY, name
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, name


def test_it_sends_the_policy_on_the_admin_pages_too(client, admin, anomaly):
    client.force_login(admin)

    for url in (
        reverse("admin:index"),
        reverse("admin:anomalies_anomaly_changelist"),
        reverse("admin:anomalies_anomaly_change", args=[anomaly.pk]),
        reverse("admin:anomalies_team_add"),
    ):
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        assert policy(response) == STRICT_POLICY, url
        assert "private" in response["Cache-Control"], url


INLINE_CODE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "inline style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("template", sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html")))
def test_it_keeps_scripts_and_styles_out_of_the_templates(template):
    """The policy refuses inline code: every script and style lives under static/."""
    text = template.read_text()

    found = [name for name, pattern in INLINE_CODE.items() if pattern.search(text)]

    assert not found, f"{template.relative_to(ROOT)}: {found}"
