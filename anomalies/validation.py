"""The input boundary: what every value from a page's form, the JSON API or a Jira webhook
must be before it reaches the database or Jira (README, "Input rules").

- Text holds no NUL character and no lone surrogate: Postgres refuses NUL in text, and a
  lone surrogate cannot be encoded as UTF-8 (for the database, a page or Jira). Such text
  is refused, never silently changed.
- Datetimes lie between EARLIEST and LATEST, so they survive conversion to UTC and back.
- Integers fit the column they are stored in (MAX_DB_INTEGER); ids fit a bigint.
- JSON is an object nested at most MAX_JSON_DEPTH deep, with no NaN or Infinity.

Forms use `CleanInputForm` and the fields below; JSON bodies go through `parse_json_object`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

MAX_JSON_DEPTH = 32
# PositiveIntegerField and IntegerField are 32-bit on Postgres; ids are 64-bit.
MAX_DB_INTEGER = 2**31 - 1
MAX_DB_ID = 2**63 - 1
# Far enough from year 1 and year 9999 that no UTC offset (at most ±14 h) and no time zone
# shift can carry a stored value out of what Python's datetime holds.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)

_UNCLEAN = re.compile("[\x00\ud800-\udfff]")
UNCLEAN_TEXT_MESSAGE = "Text cannot contain NUL characters or unpaired surrogates."


class InputRefused(ValueError):
    """A JSON body that breaks the rules; `field` names where, when it can."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- text -----------------------------------------------------------------------------------


def is_clean_text(value: str) -> bool:
    return _UNCLEAN.search(value) is None


def validate_clean_text(value: Any) -> None:
    """A validator for any field that holds text (or a list of texts)."""
    values = value if isinstance(value, list | tuple) else [value]
    if any(isinstance(item, str) and not is_clean_text(item) for item in values):
        raise ValidationError(UNCLEAN_TEXT_MESSAGE, code="unclean_text")


class CleanInputForm(forms.Form):
    """A form whose every field refuses NUL characters and lone surrogates in what was sent,
    before the field's own cleaning (so not even a clean_<name>() sees such text)."""

    def _clean_fields(self) -> None:
        unclean = [name for name, bound in self._bound_items() if _holds_unclean(bound.data)]
        super()._clean_fields()
        for name in unclean:
            if name in self.errors:  # e.g. CharField's own "Null characters are not allowed."
                continue
            if name in self.cleaned_data:
                del self.cleaned_data[name]
            self.add_error(name, ValidationError(UNCLEAN_TEXT_MESSAGE, code="unclean_text"))


def _holds_unclean(value: Any) -> bool:
    try:
        first_problem(value)
    except InputRefused as refusal:
        return refusal.message == UNCLEAN_TEXT_MESSAGE
    return False


# --- numbers and datetimes ----------------------------------------------------------------


def db_integer_field(**options) -> forms.IntegerField:
    """A count or score stored in a 32-bit positive integer column."""
    return forms.IntegerField(min_value=0, max_value=MAX_DB_INTEGER, **options)


def parse_id(text: str) -> int | None:
    """A row id written in ASCII digits, or None (for "²", "١", or past a bigint)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_DB_ID)):
        return None
    number = int(text)
    return number if number <= MAX_DB_ID else None


def validate_storable_datetime(value: datetime | None) -> None:
    if value is None:
        return
    try:
        in_range = EARLIEST <= value <= LATEST
    except (OverflowError, TypeError):  # an offset that pushes it past year 1 or 9999
        in_range = False
    if not in_range:
        raise ValidationError(
            "Give a time between 1900-01-01 and 9998-12-31 (UTC).", code="out_of_range"
        )


class StorableDateTimeField(forms.DateTimeField):
    """ISO 8601, within EARLIEST..LATEST once converted to UTC."""

    default_validators = [validate_storable_datetime]

    def to_python(self, value):
        if not isinstance(value, str | datetime | None):  # e.g. a JSON number
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return super().to_python(value)
        except (OverflowError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


# --- JSON -----------------------------------------------------------------------------------


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object that keeps every rule above, or InputRefused."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputRefused(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError as error:  # JSONDecodeError, bytes that are not UTF-8, huge numbers
        raise InputRefused(f"The request body is not valid JSON: {error}.") from None
    if not isinstance(payload, dict):
        raise InputRefused("The request body must be a JSON object.")
    first_problem(payload)
    return payload


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def first_problem(value: Any) -> None:
    """Walk a parsed JSON value (without recursion) and refuse the first text that is not
    clean, or nesting deeper than MAX_JSON_DEPTH, naming its place: `tags[2]`, `a.b`."""
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        item, place, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputRefused(
                f"JSON is nested more than {MAX_JSON_DEPTH} levels deep.", field=_root(place)
            )
        if isinstance(item, str) and not is_clean_text(item):
            raise InputRefused(UNCLEAN_TEXT_MESSAGE, field=place)
        if isinstance(item, dict):
            for key, child in item.items():
                if not is_clean_text(key):
                    raise InputRefused(UNCLEAN_TEXT_MESSAGE, field=place or "(a key)")
                pending.append((child, f"{place}.{key}" if place else key, depth + 1))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{place}[{n}]", depth + 1) for n, child in enumerate(item))


def _root(place: str) -> str:
    return re.split(r"[.\[]", place, maxsplit=1)[0]
