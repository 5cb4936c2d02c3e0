"""The transport every connector client shares: a pooled session whose every connection goes
through the host policy, Basic auth that never shows itself, timeouts, and the secrets each
answer's text is scrubbed of. Vendor clients keep only their endpoints, bodies and error parsing.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
from urllib3.util.retry import Retry

from .errors import ConnectorError
from .host_policy import HostNotAllowed, HostPolicy, PolicedAdapter

TransportErrorMaker = Callable[..., ConnectorError]
MAX_MESSAGE_CHARS = 300
REDACTED = "[redacted]"


class BasicAuth(requests.auth.AuthBase):
    """Basic auth whose repr never shows the credentials."""

    def __init__(self, header_value: str) -> None:
        self._header_value = header_value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header_value
        return request

    def __repr__(self) -> str:
        return "<BasicAuth [redacted]>"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` cut to a sane length with every secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def new_policed_session(host_policy: HostPolicy) -> requests.Session:
    session = requests.Session()
    # The environment is read once, here, not on every request: with trust_env on, requests
    # scans os.environ for proxy settings before each send (about a sixth of a worker's time
    # per comment, py-spy), although the adapter refuses proxies anyway. A CA bundle named
    # the usual way is still honoured; ~/.netrc is never consulted (auth is explicit).
    session.trust_env = False
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    # No urllib3 retries: a silently repeated POST could create a second ticket or comment.
    adapter = PolicedAdapter(
        host_policy, pool_connections=4, pool_maxsize=8, max_retries=Retry(0, read=False)
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class PolicedTransport:
    """One site and one account: sends requests and turns a missing answer into an error.

    ``transport_error(exc, is_write=..., read_timeout=...)`` and ``host_refused(message)`` build
    the vendor's errors; ``vendor`` names it in the debug log.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        secret: str,
        *,
        vendor: str,
        logger: logging.Logger,
        transport_error: TransportErrorMaker,
        host_refused: Callable[[str], ConnectorError],
        connect_timeout: float,
        read_timeout: float,
        host_policy: HostPolicy | None = None,
        on_response: Callable[..., Any] | None = None,
    ) -> None:
        self.base_url = base_url
        pair = f"{username}:{secret}"
        encoded = base64.b64encode(pair.encode()).decode()
        self.auth = BasicAuth(f"Basic {encoded}")
        self.secrets = tuple(s for s in (pair, encoded, secret) if s)
        self.timeout = (connect_timeout, read_timeout)
        self.session = new_policed_session(host_policy or HostPolicy())
        if on_response is not None:  # e.g. counting answers for /metrics
            self.session.hooks["response"].append(on_response)
        self._vendor = vendor
        self._logger = logger
        self._transport_error = transport_error
        self._host_refused = host_refused

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Any,
        json_body: Any,
        headers: dict[str, str],
        is_write: bool,
    ) -> requests.Response:
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json_body,
                headers=headers,
                auth=self.auth,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect means a wrong site URL; never follow it
            )
        except requests.RequestException as exc:
            error = self._transport_error(exc, is_write=is_write, read_timeout=self.timeout[1])
        except HostNotAllowed as refused:
            error = self._host_refused(str(refused))
        else:
            elapsed_ms = (time.monotonic() - started) * 1000
            self._logger.debug(
                "%s %s %s -> %s in %.0f ms",
                self._vendor,
                method,
                path,
                response.status_code,
                elapsed_ms,
            )
            return response
        # Raised outside the except block so it carries no link to the requests exception,
        # whose prepared request holds the Authorization header.
        self._logger.debug("%s %s %s failed: %s", self._vendor, method, path, error.message)
        raise error
