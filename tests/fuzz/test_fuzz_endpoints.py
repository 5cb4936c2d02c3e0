"""Property: whatever a persona sends to any form or API endpoint, the answer is never a 5xx,
a refusal writes nothing, nothing unclean is stored, and every list still answers after."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from . import recorder
from .conftest import PERSONAS, Fuzzer
from .endpoints import (
    ANOMALY_API,
    ANOMALY_PAGES,
    CONNECT_API,
    CONNECT_PAGE,
    TICKET_API,
    TICKET_PAGES,
    Endpoint,
)
from .strategies import encoded, form_values, ids, json_bodies

pytestmark = pytest.mark.fuzz

HOSTILE_CHARACTERS = ("\x00", "\ud800", "\udfff" * 3)
WRONG_TYPES = (1, 1.5, True, {"a": 1}, "text")
targets = st.one_of(st.sampled_from(["own", "own", "hidden"]), ids)


def payloads(endpoint: Endpoint):
    if endpoint.sends == "json":
        return json_bodies(endpoint.valid)
    return form_values({key: str(value) for key, value in endpoint.valid.items()})


def attack(fuzz: Fuzzer, endpoint: Endpoint) -> None:
    @given(
        persona=st.sampled_from(PERSONAS),
        anomaly=targets,
        row=st.one_of(st.just("own"), ids),
        payload=payloads(endpoint),
    )
    def attempt(persona, anomaly, row, payload):
        recorder.EXAMPLES[endpoint.label] += 1
        row_id = _row_id(fuzz, endpoint, row)
        path = endpoint.path(fuzz.world, fuzz.target(anomaly), row_id)
        if endpoint.sends == "json":
            fuzz.api(endpoint.label, persona, endpoint.method, path, body=payload)
        elif endpoint.sends == "form":
            fuzz.page(endpoint.label, persona, endpoint.method, path, form=payload)
        elif endpoint.label.startswith("GET /api"):
            fuzz.api(endpoint.label, persona, "GET", path, query=encoded(payload))
        else:
            fuzz.page(endpoint.label, persona, "GET", path, query=encoded(payload))

    for payload in known_attacks(endpoint):  # tried first, every run, as the admin
        attempt = example(persona="admin", anomaly="own", row="own", payload=payload)(attempt)
    attempt()
    fuzz.assert_lists_answer()


def known_attacks(endpoint: Endpoint) -> list:
    """The issue's cases, so every run tries them whatever hypothesis draws."""
    if endpoint.sends == "json":
        every = {key: None for key in endpoint.valid} or {"unknown_key": None}
        return [
            b"[" * 50_000,
            *(json.dumps(dict.fromkeys(every, bad)).encode() for bad in HOSTILE_CHARACTERS),
            *(json.dumps(dict.fromkeys(every, wrong)).encode() for wrong in WRONG_TYPES),
            json.dumps({**endpoint.valid, "detected_at": "9999-12-31T23:59:59-12:00"}).encode(),
            json.dumps({**endpoint.valid, "weight": 2**31}).encode(),
        ]
    fields = list(endpoint.valid) or ["unknown_key"]
    return [dict.fromkeys(fields, bad) for bad in HOSTILE_CHARACTERS]


def _row_id(fuzz: Fuzzer, endpoint: Endpoint, row) -> int:
    if row != "own":
        return row
    world = fuzz.world
    if "sync-events" in endpoint.label and world.event:
        return world.event.pk
    return world.link.pk if world.link else 1


@pytest.mark.parametrize("endpoint", ANOMALY_API + ANOMALY_PAGES, ids=str)
def test_it_never_fails_on_hostile_anomaly_input(fuzz, endpoint):
    attack(fuzz, endpoint)


@pytest.mark.parametrize("endpoint", TICKET_API + TICKET_PAGES, ids=str)
def test_it_never_fails_on_hostile_ticket_input(fuzz, connected_world, endpoint):
    attack(fuzz, endpoint)


@pytest.mark.parametrize("endpoint", [CONNECT_API, CONNECT_PAGE], ids=str)
def test_it_never_fails_on_hostile_connection_details(fuzz, outbound_blocked, endpoint):
    attack(fuzz, endpoint)
