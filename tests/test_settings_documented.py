"""Every environment variable the settings module reads is in the README's configuration
table and in `.env.example`, and the table names nothing the settings no longer read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "qualytics_jira" / "settings.py"
README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / ".env.example"

NAME = r"""\(\s*["']([A-Z][A-Z0-9_]*)["']"""
# env("X", …), env.bool("X", …), env.db(…), _secret("X", …), os.environ.get("X"), os.getenv("X")
READS = re.compile(
    rf"(?:\benv(?:\.\w+)?|\b_secret|os\.environ\.get|os\.getenv){NAME}|os\.environ\[\s*[\"']([A-Z][A-Z0-9_]*)"
)
TABLE_HEADER = re.compile(r"^\|\s*variable\s*\|", re.IGNORECASE)
DOCUMENTED = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def settings_reads(source: str) -> set[str]:
    return {first or second for first, second in READS.findall(source)}


def readme_table_names(readme: str) -> set[str]:
    """The backticked names in the first column of the `| variable | … |` table."""
    lines = readme.splitlines()
    start = next(n for n, line in enumerate(lines) if TABLE_HEADER.match(line))
    names: set[str] = set()
    for line in lines[start + 2 :]:  # skip the header and its |---| line
        if not line.startswith("|"):
            break
        first_cell = line.split("|")[1]
        names |= set(DOCUMENTED.findall(first_cell))
    return names


def env_example_names(text: str) -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def test_it_finds_every_kind_of_environment_read():
    source = """
DEBUG = env.bool("DEBUG", default=False)
KEY = _secret("SECRET_KEY", _DEV)
URL = env.str(
    "CELERY_BROKER_URL", default=env.str('REDIS_URL', default="")
)
DB = env.db("DATABASE_URL")
RAW = env("PLAIN")
OTHER = os.environ.get("FROM_OS")
    """

    assert settings_reads(source) == {
        "DEBUG",
        "SECRET_KEY",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "DATABASE_URL",
        "PLAIN",
        "FROM_OS",
    }


def test_it_documents_every_setting_read_in_the_readme_table():
    read = settings_reads(SETTINGS.read_text())
    documented = readme_table_names(README.read_text())

    assert not read - documented, f"read by settings.py, missing from README: {read - documented}"
    assert not documented - read, f"in README, not read by settings.py: {documented - read}"


def test_it_lists_every_setting_in_the_env_example():
    read = settings_reads(SETTINGS.read_text())
    listed = env_example_names(ENV_EXAMPLE.read_text())

    assert not read - listed, f"read by settings.py, missing from .env.example: {read - listed}"


def test_it_documents_secure_cookies_with_its_plain_http_caveat():
    (row,) = [line for line in README.read_text().splitlines() if "`SECURE_COOKIES`" in line]

    assert "DEBUG" in row and "plain http" in row
