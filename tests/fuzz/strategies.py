"""Hostile input for the fuzz suite: strings the database, Python or Jira choke on, numbers
past every column, values of the wrong type, JSON nested past any limit, oversized bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 3,
    *SURROGATES,
    "😀",
    "\u202e\u202d",
    "\ufeff",
    "\u0301",
    "Ω≈ç√∫",
    "١٢٣",
    "²",
    "'; DROP TABLE anomalies_anomaly; --",
    "<script>alert(1)</script>",
    "{{ 7|add:7 }}",
    "%00",
    "../../etc/passwd",
    "\r\n\t",
    "DQ-1",
    "dq-999999999999999999999",
    "https://jira.invalid/browse/DQ-1",
    "9" * 40,
    "-1",
    "1e309",
    "NaN",
    "null",
    "true",
    "2024-01-15T10:30:00Z",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "Resolved",
]
BIG_STRING_SIZES = [51, 129, 201, 255, 256, 2001, 10_001, 20_001, 40_000]

surrogate_text = st.builds(
    lambda before, surrogate, after: before + surrogate + after,
    st.text(max_size=5),
    st.sampled_from(SURROGATES),
    st.text(max_size=5),
)
hostile_text = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=40),
    surrogate_text,
    st.sampled_from(BIG_STRING_SIZES).map(lambda size: "x" * size),
)
hostile_number = st.one_of(
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=2**31 - 2, max_value=2**31 + 1),
    st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 10**100, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
leaf = st.one_of(st.none(), hostile_text, hostile_number)
hostile_value = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(hostile_text, children, max_size=3),
    ),
    max_leaves=6,
)
# Bodies no JSON encoder makes: too deep for a recursive parser, not UTF-8, not JSON, too big.
RAW_BODIES = [
    b"[" * 50_000,
    b"{" * 50_000,
    b'{"a":' * 20_000,
    b'{"text": ' + b"[" * 2_000 + b"]" * 2_000 + b"}",
    b"\xff\xfe\x00",
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"{",
    b'{"text": "\\ud800"}',
    b'{"text": "\\u0000"}',
    b'{"weight": NaN, "text": Infinity}',
    b'{"weight": 1' + b"0" * 5_000 + b"}",
    b'{"text": "' + b"x" * 300_000 + b'"}',
]


def json_bodies(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """A valid body with up to three values (or unknown keys) made hostile, or a raw body."""
    keys = [*valid, "unknown_key"]
    changed = st.dictionaries(st.sampled_from(keys), hostile_value, max_size=3)
    mutated = changed.map(lambda changes: json.dumps({**valid, **changes}).encode())
    return st.one_of(mutated, mutated, mutated, st.sampled_from(RAW_BODIES))


def form_values(valid: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """A page form's fields with up to three made hostile (texts, as a browser sends)."""
    keys = [*valid, "unknown_key"]
    as_text = st.one_of(hostile_text, hostile_number.map(str))
    changed = st.dictionaries(st.sampled_from(keys), as_text, max_size=3)
    return changed.map(lambda changes: {**valid, **changes})


def encoded(values: dict[str, str]) -> str:
    """URL-encoded as raw bytes: a lone surrogate goes out as the bytes a hostile client
    would send (ED A0 80), which are not UTF-8."""
    return urlencode(values, encoding="utf-8", errors="surrogatepass")


ids = st.one_of(
    st.sampled_from([0, 1, 2, 3, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30]),
    st.integers(min_value=0, max_value=50),
)
