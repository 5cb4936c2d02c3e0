"""The text rules send to tickets and write in an anomaly's history: one place, tested as is."""

from __future__ import annotations

from datetime import UTC, datetime


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def recurrence_comment(*, at: datetime, times_this_week: int, anomaly_url: str) -> str:
    return (
        f"Recurred at {stamp(at)} — {ordinal(times_this_week)} time this week.\n"
        f"Anomaly: {anomaly_url}"
    )


def recurrences_comment(
    *, first: datetime, last: datetime, count: int, times_this_week: int, urls: list[str]
) -> str:
    """Recurrences that arrived before the comment went out share it: one comment, not many."""
    shown = "\n".join(urls[:20]) + (f"\n… and {len(urls) - 20} more" if len(urls) > 20 else "")
    return (
        f"Recurred {count} times between {stamp(first)} and {stamp(last)} — "
        f"{ordinal(times_this_week)} time this week.\nAnomalies:\n{shown}"
    )


def by_rule(rule_name: str, what: str) -> str:
    return f"Rule “{rule_name}”: {what}"


ORPHANED = (
    "The rule's owner was deleted, so it acts for nobody; a Manager who resumes or edits the "
    "rule takes it over."
)
