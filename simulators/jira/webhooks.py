"""Admin webhooks: registered through ``POST /_sim/webhooks``, delivered from a background thread.

What Jira does (docs/jira-api.md §4): each delivery is a v2-style JSON body (§4.4: ``self`` URLs
under ``/rest/api/2/``, ``issue.self`` without the ``/issue/`` segment, plain-text description and
comment bodies); a webhook with a secret signs it with ``X-Hub-Signature: sha256=<hex HMAC-SHA256
of the body>`` (§4.2); ``X-Atlassian-Webhook-Identifier`` is unique per delivery and unchanged
across retries, ``X-Atlassian-Webhook-Retry`` counts them (§4.3). Jira retries 408, 409, 425,
429, 5xx and connection failures up to five times, 5–15 minutes apart; the simulator retries
twice, ``RETRY_DELAY`` seconds apart, so that tests see it happen.

Events fired: ``jira:issue_updated`` on a transition, a move or a new comment (with
``changelog`` for the first two, ``comment`` for the last), ``comment_created`` on a new
comment, and ``jira:issue_deleted``. Changes made through the control API are made by Alice.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import adf, render, seed
from .errors import JiraError
from .jql import compile_jql
from .jql_clauses import SearchContext

if TYPE_CHECKING:
    from .state import SimState

ISSUE_UPDATED = "jira:issue_updated"
ISSUE_DELETED = "jira:issue_deleted"
COMMENT_CREATED = "comment_created"
EVENTS = (ISSUE_UPDATED, ISSUE_DELETED, COMMENT_CREATED)
CONTROL_ACTOR = "712020:sim-alice"  # who "worked in Jira" when the control API changes an issue
RETRYABLE_STATUSES = {408, 409, 425, 429}  # and every 5xx (§4.3)
ATTEMPTS = 3
RETRY_DELAY = 0.2
TIMEOUT = 5.0
LOG_SIZE = 1000


class WebhookSpecError(ValueError):
    pass


@dataclass
class Registration:
    id: int
    url: str
    secret: str
    events: list[str]
    jql_filter: str
    matches: Any  # issue record -> bool

    def describe(self) -> dict[str, Any]:
        """As the control API lists it: like Jira, it never shows the secret again."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "jqlFilter": self.jql_filter,
            "hasSecret": bool(self.secret),
        }


@dataclass
class Delivery:
    registration: Registration
    event: str
    issue_key: str
    body: bytes
    generation: int
    identifier: str = field(default_factory=lambda: str(uuid.uuid4()))
    statuses: list[int | None] = field(default_factory=list)  # None: no answer
    outcome: str = "pending"  # then "delivered", "failed" or "dropped" (a reset came first)

    def describe(self) -> dict[str, Any]:
        return {
            "webhookId": self.registration.id,
            "url": self.registration.url,
            "event": self.event,
            "issueKey": self.issue_key,
            "identifier": self.identifier,
            "attempts": len(self.statuses),
            "statuses": list(self.statuses),
            "outcome": self.outcome,
        }


class Webhooks:
    """Registrations, and one sender thread that delivers in the order events happened."""

    def __init__(self, state: SimState, stopping: threading.Event) -> None:
        self.state = state
        self.stopping = stopping
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._changelog_ids = itertools.count(10000)
        self._registrations: dict[int, Registration] = {}
        self._log: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._generation = 0
        self._sender: threading.Thread | None = None
        # Straight to the receiver, whatever HTTP(S)_PROXY says.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # --- registrations (the control API) ---------------------------------------------------

    def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        url, secret = spec.get("url"), spec.get("secret") or ""
        events, jql_filter = spec.get("events"), spec.get("jqlFilter") or ""
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise WebhookSpecError("url must be an http(s) URL")
        if not isinstance(secret, str):
            raise WebhookSpecError("secret must be a string")
        if not isinstance(events, list) or not events or not set(events) <= set(EVENTS):
            raise WebhookSpecError(f"events must be a non-empty list of {', '.join(EVENTS)}")
        matches = self._matcher(jql_filter)  # outside our lock: it may take the state's
        with self._lock:
            registration = Registration(next(self._ids), url, secret, events, jql_filter, matches)
            self._registrations[registration.id] = registration
        return registration.describe()

    def _matcher(self, jql_filter: str) -> Any:
        if not isinstance(jql_filter, str):
            raise WebhookSpecError("jqlFilter must be a string")
        if not jql_filter.strip():
            return lambda _issue: True
        context = SearchContext(
            resolve_key=lambda ref: (self.state.find_issue(ref) or {}).get("id"),
            can_browse=True,
        )
        try:
            return compile_jql(jql_filter, context).predicate
        except JiraError as error:
            raise WebhookSpecError(f"invalid jqlFilter: {error.error_messages}") from None

    def registrations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [registration.describe() for registration in self._registrations.values()]

    def unregister(self, webhook_id: int) -> bool:
        with self._lock:
            return self._registrations.pop(webhook_id, None) is not None

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [delivery.describe() for delivery in self._log]

    def reset(self) -> None:
        """Registrations and the log go; a delivery already on its way is dropped."""
        with self._lock:
            self._registrations.clear()
            self._log.clear()
            self._generation += 1

    def close(self) -> None:
        if self._sender is not None:
            self._queue.put(None)
            self._sender.join(timeout=TIMEOUT + 1)
            self._sender = None

    # --- events (called with the state lock held, before a deletion) ---------------------

    def issue_transitioned(self, site: str, issue: dict[str, Any], old_status: str) -> None:
        item = _changelog_item("status", old_status, _status_name(old_status))
        item.update(to=issue["status"], toString=_status_name(issue["status"]))
        self._issue_updated(site, issue, "issue_generic", changelog=[item])

    def issue_moved(self, site: str, issue: dict[str, Any], old_key: str, old_project: str) -> None:
        project = _changelog_item("project", seed.PROJECTS[old_project]["id"], old_project)
        new_project = seed.PROJECTS[issue["project"]]
        project.update(to=new_project["id"], toString=issue["project"])
        key = {"field": "Key", "fieldtype": "jira", "from": None, "fromString": old_key}
        key.update(to=None, toString=issue["key"])
        self._issue_updated(site, issue, "issue_moved", changelog=[project, key])

    def comment_added(
        self, site: str, issue: dict[str, Any], comment: dict[str, Any], author: str
    ) -> None:
        extra = {"comment": self._comment(site, issue, comment)}
        self._notify(COMMENT_CREATED, site, issue, author, extra)
        self._notify(ISSUE_UPDATED, site, issue, author, extra, "issue_commented")

    def issue_deleted(self, site: str, issue: dict[str, Any]) -> None:
        self._notify(ISSUE_DELETED, site, issue, CONTROL_ACTOR, {}, "issue_deleted")

    def _issue_updated(
        self, site: str, issue: dict[str, Any], type_name: str, changelog: list[dict[str, Any]]
    ) -> None:
        extra = {"changelog": {"id": str(next(self._changelog_ids)), "items": changelog}}
        self._notify(ISSUE_UPDATED, site, issue, CONTROL_ACTOR, extra, type_name)

    def _notify(
        self,
        event: str,
        site: str,
        issue: dict[str, Any],
        actor: str,
        extra: dict[str, Any],
        type_name: str | None = None,
    ) -> None:
        with self._lock:
            registrations = list(self._registrations.values())
            generation = self._generation
        targets = [
            registration
            for registration in registrations
            if event in registration.events and registration.matches(issue)
        ]
        if not targets:
            return
        body = json.dumps(self._payload(event, site, issue, actor, extra, type_name)).encode()
        for registration in targets:
            self._enqueue(Delivery(registration, event, issue["key"], body, generation))

    def _payload(
        self,
        event: str,
        site: str,
        issue: dict[str, Any],
        actor: str,
        extra: dict[str, Any],
        type_name: str | None,
    ) -> dict[str, Any]:
        """The shape captured from real Cloud sites (docs/jira-api.md §4.4)."""
        fields = render.issue_fields(site, issue, self.state.user)
        del fields["comment"]
        if isinstance(fields.get("description"), dict):
            fields["description"] = adf.to_text(fields["description"])
        payload: dict[str, Any] = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": event,
            "user": render.user_details(site, self.state.user(actor)),
            "issue": {
                "id": issue["id"],
                "self": f"{site}/rest/api/2/{issue['id']}",
                "key": issue["key"],
                "fields": fields,
            },
            **copy.deepcopy(extra),
        }
        if type_name:
            payload["issue_event_type_name"] = type_name
        return _as_v2(payload)

    def _comment(self, site: str, issue: dict[str, Any], record: dict[str, Any]) -> dict:
        comment = render.comment(site, issue, record, self.state.user, False)
        comment["body"] = adf.to_text(record["body"])
        return comment

    # --- sending ---------------------------------------------------------------------------

    def _enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            self._log.append(delivery)
            del self._log[:-LOG_SIZE]
            if self._sender is None or not self._sender.is_alive():
                self._sender = threading.Thread(
                    target=self._send_forever, name="jira-simulator-webhooks", daemon=True
                )
                self._sender.start()
        self._queue.put(delivery)

    def _send_forever(self) -> None:
        while (delivery := self._queue.get()) is not None:
            self._deliver(delivery)

    def _deliver(self, delivery: Delivery) -> None:
        headers = _headers(delivery)
        for attempt in range(ATTEMPTS):
            if attempt:
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
                if self.stopping.wait(RETRY_DELAY):
                    break
            if delivery.generation != self._generation:
                delivery.outcome = "dropped"
                return
            status = self._post(delivery, headers)
            with self._lock:
                delivery.statuses.append(status)
            if status is not None and not _retryable(status):
                delivery.outcome = "delivered" if status < 400 else "failed"
                return
        delivery.outcome = "failed"

    def _post(self, delivery: Delivery, headers: dict[str, str]) -> int | None:
        request = urllib.request.Request(
            delivery.registration.url, data=delivery.body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:
            error.read()
            return error.code
        except (OSError, ValueError):  # refused, reset, timed out, or not an HTTP answer
            return None


def _headers(delivery: Delivery) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": delivery.identifier,
        "X-Atlassian-Webhook-Flow": "Primary",
    }
    secret = delivery.registration.secret
    if secret:
        digest = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature"] = f"sha256={digest}"
    return headers


def _retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def _changelog_item(name: str, old: str, old_string: str) -> dict[str, Any]:
    return {
        "field": name,
        "fieldtype": "jira",
        "fieldId": name,
        "from": old,
        "fromString": old_string,
    }


def _status_name(status_id: str) -> str:
    return seed.STATUSES[status_id]["name"]


def _as_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Webhook bodies link to REST v2 resources, unlike the v3 API's answers (§4.4)."""
    return json.loads(json.dumps(payload).replace("/rest/api/3/", "/rest/api/2/"))
