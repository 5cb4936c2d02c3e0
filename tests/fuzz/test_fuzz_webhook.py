"""Property: whatever arrives at the Jira webhook, signed or not, the answer is never a 5xx
(Jira would retry it), a refusal writes nothing, and the anomaly lists still answer."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from . import recorder
from .conftest import WEBHOOK_SECRET
from .strategies import RAW_BODIES, hostile_text, hostile_value

pytestmark = pytest.mark.fuzz

LABEL = "POST /integrations/jira/webhook/<id>"
PLACES = [
    ("timestamp",),
    ("webhookEvent",),
    ("issue",),
    ("issue", "id"),
    ("issue", "key"),
    ("issue", "fields"),
    ("issue", "fields", "summary"),
    ("issue", "fields", "status"),
    ("issue", "fields", "status", "name"),
    ("issue", "fields", "status", "statusCategory"),
    ("issue", "fields", "status", "statusCategory", "key"),
]


def delivery(link) -> dict[str, Any]:
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue": {
            "id": link.issue_id,
            "key": link.issue_key,
            "fields": {
                "summary": "Null customer ids",
                "status": {"name": "Done", "statusCategory": {"key": "done"}},
            },
        },
    }


def reshaped(payload: dict, changes: list[tuple[tuple[str, ...], Any]]) -> bytes:
    payload = copy.deepcopy(payload)
    for place, value in changes:
        parent = payload
        for key in place[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent[place[-1]] = value
    return json.dumps(payload).encode()


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


KNOWN_ATTACKS = [
    [(("issue", "fields", "status"), "Done")],
    [(("issue", "key"), 12), (("issue", "id"), None)],
    [(("issue", "key"), {"key": "DQ-1"})],
    [(("issue", "fields"), "all")],
    [(("issue", "fields", "status", "name"), "Done\ud800")],
    [(("timestamp",), 10**30)],
    [(("timestamp",), 0)],
]
changes = st.lists(st.tuples(st.sampled_from(PLACES), hostile_value), max_size=3)
signatures = st.sampled_from(["right", "right", "right", "none", "wrong"])
identifiers = st.one_of(st.uuids().map(str), st.just(""), hostile_text)


def test_it_never_fails_on_a_hostile_delivery(fuzz, connected_world):
    path = reverse("integrations:jira_webhook", args=[connected_world.integration.pk])
    valid = delivery(connected_world.link)

    @given(
        changes=changes,
        raw=st.one_of(st.none(), st.none(), st.sampled_from(RAW_BODIES)),
        signature=signatures,
        identifier=identifiers,
    )
    def attempt(changes, raw, signature, identifier):
        recorder.EXAMPLES[LABEL] += 1
        body = raw if raw is not None else reshaped(valid, changes)
        headers = {"X-Atlassian-Webhook-Identifier": identifier or str(uuid.uuid4())}
        if signature != "none":
            headers["X-Hub-Signature"] = signed(body if signature == "right" else b"other")
        fuzz.webhook(LABEL, path, body, headers)

    for known in KNOWN_ATTACKS:  # the issue's cases, tried first on every run
        attempt = example(changes=known, raw=None, signature="right", identifier="")(attempt)
    for raw in (b"[" * 50_000, b'{"webhookEvent": "\\ud800"}'):
        attempt = example(changes=[], raw=raw, signature="right", identifier="")(attempt)
    attempt()
    fuzz.assert_lists_answer()
