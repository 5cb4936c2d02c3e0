"""Jira URLs and JQL literals: the only places user text meets a URL or a query."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit


def normalize_host_url(url: str, *, allow_insecure_loopback: bool) -> str:
    """``https://host[:port]`` in canonical form, or ``ValueError`` saying what is wrong.

    Plain http is accepted only for loopback hosts, and only when allowed (local simulator).
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError("Enter the full Jira URL, like https://your-domain.atlassian.net.")
    if "@" in parts.netloc:
        raise ValueError("The Jira URL must not contain a user name or password.")
    if parts.path not in ("", "/") or "?" in url or "#" in url:
        raise ValueError("Enter only the site address, like https://your-domain.atlassian.net.")
    if scheme == "http" and not (allow_insecure_loopback and _is_loopback(host)):
        raise ValueError("The Jira URL must start with https://.")
    if not re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", host):
        raise ValueError("The Jira URL has an invalid host name.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("The Jira URL has an invalid port.") from None
    shown_host = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    return f"{scheme}://{shown_host}" + (f":{port}" if port and port != default_port else "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
