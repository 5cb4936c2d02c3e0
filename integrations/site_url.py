"""A ticketing site's base URL in canonical form: the one place a user's site address is checked."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SiteUrlWords:
    """How the vendor's messages name the URL (``Jira URL``) and what to enter instead."""

    name: str
    enter_full: str
    enter_only: str


def normalize_site_url(url: str, words: SiteUrlWords, *, allow_insecure_loopback: bool) -> str:
    """``https://host[:port]`` in canonical form, or ``ValueError`` saying what is wrong.

    Plain http is accepted only for loopback hosts, and only when allowed (local simulator).
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise ValueError(words.enter_full)
    if "@" in parts.netloc:
        raise ValueError(f"The {words.name} must not contain a user name or password.")
    if parts.path not in ("", "/") or "?" in url or "#" in url:
        raise ValueError(words.enter_only)
    if scheme == "http" and not (allow_insecure_loopback and _is_loopback(host)):
        raise ValueError(f"The {words.name} must start with https://.")
    if not re.fullmatch(r"[a-z0-9.-]+|[0-9a-f:.]+", host):
        raise ValueError(f"The {words.name} has an invalid host name.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"The {words.name} has an invalid port.") from None
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
