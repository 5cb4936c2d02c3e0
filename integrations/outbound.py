"""Every text this product sends to a ticketing system, built in one place and tested byte
for byte, whatever the connector: each connector only renders it (Jira: ADF; ServiceNow:
plain text).

PRODUCT.md §4 (the anomaly context appended to a new ticket's description) and §5 (the sync
notes). Times are UTC, formatted `YYYY-MM-DD HH:MM:SS UTC`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.urls import reverse

from anomalies.models import Anomaly

from .connectors import ContextBlock, TicketDescription

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


def issue_description(
    anomaly: Anomaly, *, user_description: str, linked_at: datetime, site_url: str
) -> TicketDescription:
    """The new ticket's description: the user's text, a rule, then the anomaly's context."""
    return TicketDescription(
        user_text=user_description,
        header=f"Qualytics Anomaly Linked [{format_utc(linked_at)}]",
        facts=tuple(anomaly_context_lines(anomaly, linked_at=linked_at)),
        link_label="View the anomaly in Qualytics: ",
        url=anomaly_url(anomaly, site_url),
    )


def issue_description_for_many(
    anomalies: list[Anomaly], *, user_description: str, linked_at: datetime, site_url: str
) -> TicketDescription:
    """One ticket for several anomalies (a bulk create): the user's text, a rule, a header
    that counts them, then each anomaly's context as a single create writes it, in id order."""
    if len(anomalies) == 1:
        return issue_description(
            anomalies[0], user_description=user_description, linked_at=linked_at, site_url=site_url
        )
    first, *rest = sorted(anomalies, key=lambda one: one.pk)
    return TicketDescription(
        user_text=user_description,
        header=f"Qualytics Anomalies Linked [{format_utc(linked_at)}]: {len(anomalies)} anomalies",
        facts=tuple(anomaly_context_lines(first, linked_at=linked_at)),
        link_label="View the anomaly in Qualytics: ",
        url=anomaly_url(first, site_url),
        also=tuple(
            ContextBlock(
                tuple(anomaly_context_lines(one, linked_at=linked_at)), anomaly_url(one, site_url)
            )
            for one in rest
        ),
    )
