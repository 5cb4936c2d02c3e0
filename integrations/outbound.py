"""Every text this product sends to Jira, built in one place and tested byte for byte.

PRODUCT.md §4 (the anomaly context appended to a new issue's description) and §5 (the sync
comments). Times are UTC, formatted `YYYY-MM-DD HH:MM:SS UTC`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.urls import reverse

from anomalies.models import Anomaly

from .jira import adf

SEPARATOR = "---"


def format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_comment(status: str, *, at: datetime, note: str = "") -> str:
    """Acknowledge, archive (with its reason) and restore all read the same way."""
    line = f"[{format_utc(at)}] Qualytics Anomaly Status: {status}"
    note = note.strip()
    return f"{line}\nNote: {note}" if note else line


def user_comment(text: str, *, at: datetime, author: str) -> str:
    return f"[{format_utc(at)}] Comment from Qualytics ({author}): {text.strip()}"


def anomaly_url(anomaly: Anomaly, site_url: str) -> str:
    return site_url.rstrip("/") + reverse("anomalies:detail", args=[anomaly.pk])


def anomaly_context_lines(anomaly: Anomaly, *, linked_at: datetime) -> list[str]:
    """The lines under the header, one fact a line, one line per failed check."""
    lines = [
        f"Anomaly ID: {anomaly.pk} ({anomaly.uuid})",
        f"Status: {anomaly.status}",
        f"Type: {anomaly.get_anomaly_type_display()}",
        f"Detected: {format_utc(anomaly.detected_at)}",
        f"Datastore: {anomaly.datastore.name}",
        f"Container: {anomaly.container.name}",
    ]
    assignees = sorted(str(user) for user in anomaly.assignees.all())
    if assignees:
        lines.append(f"Assignees: {', '.join(assignees)}")
    for check in anomaly.failed_checks.all():
        where = f" on {check.field_name}" if check.field_name else ""
        lines.append(f"Failed check: {check.rule_type}{where}: {check.message}")
    return lines


def _user_blocks(user_description: str) -> list[dict]:
    return adf.text_to_adf(user_description)["content"] if user_description.strip() else []


def _context_blocks(anomaly: Anomaly, *, linked_at: datetime, site_url: str) -> list[dict]:
    """One anomaly's facts, a line each, then the link to its page."""
    facts: list[dict] = []
    for line in anomaly_context_lines(anomaly, linked_at=linked_at):
        facts += [adf.hard_break(), adf.text(line)] if facts else [adf.text(line)]
    url = anomaly_url(anomaly, site_url)
    return [
        adf.paragraph(*facts),
        adf.paragraph(adf.text("View the anomaly in Qualytics: "), adf.link(url, url)),
    ]


def issue_description(
    anomaly: Anomaly, *, user_description: str, linked_at: datetime, site_url: str
) -> dict:
    """The new issue's description as ADF: the user's text, a rule, then the context."""
    header = f"Qualytics Anomaly Linked [{format_utc(linked_at)}]"
    return adf.adf_doc(
        *_user_blocks(user_description),
        {"type": "rule"},
        adf.paragraph(adf.strong(header)),
        *_context_blocks(anomaly, linked_at=linked_at, site_url=site_url),
    )


def issue_description_for_many(
    anomalies: list[Anomaly], *, user_description: str, linked_at: datetime, site_url: str
) -> dict:
    """One issue for several anomalies (a bulk create): the user's text, a rule, a header
    that counts them, then each anomaly's context as a single create writes it, in id order."""
    if len(anomalies) == 1:
        return issue_description(
            anomalies[0], user_description=user_description, linked_at=linked_at, site_url=site_url
        )
    header = f"Qualytics Anomalies Linked [{format_utc(linked_at)}]: {len(anomalies)} anomalies"
    blocks: list[dict] = []
    for anomaly in sorted(anomalies, key=lambda one: one.pk):
        blocks += _context_blocks(anomaly, linked_at=linked_at, site_url=site_url)
    return adf.adf_doc(
        *_user_blocks(user_description),
        {"type": "rule"},
        adf.paragraph(adf.strong(header)),
        *blocks,
    )


def comment_body(text: str) -> dict:
    return adf.text_to_adf(text)
