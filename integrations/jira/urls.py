"""Jira URLs and JQL literals: the only places user text meets a URL or a query."""

from __future__ import annotations

import re
from urllib.parse import quote

from ..site_url import SiteUrlWords, normalize_site_url

JIRA_URL_WORDS = SiteUrlWords(
    name="Jira URL",
    enter_full="Enter the full Jira URL, like https://your-domain.atlassian.net.",
    enter_only="Enter only the site address, like https://your-domain.atlassian.net.",
)


def normalize_host_url(url: str, *, allow_insecure_loopback: bool) -> str:
    """``https://host[:port]`` in canonical form, or ``ValueError`` saying what is wrong.

    Plain http is accepted only for loopback hosts, and only when allowed (local simulator).
    """
    return normalize_site_url(url, JIRA_URL_WORDS, allow_insecure_loopback=allow_insecure_loopback)


def jql_string(value: str) -> str:
    """``value`` as a quoted JQL string literal: user text can never end the literal."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", value)
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_order(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number)


def path_segment(value: str) -> str:
    # Keys and ids come from users: never let one climb out of its URL segment.
    if not value or value in (".", ".."):
        raise ValueError(f"Invalid Jira identifier: {value!r}")
    return quote(value, safe="")
