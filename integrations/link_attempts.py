"""The link form's last attempt, carried across the redirect back to the anomaly page.

Without JavaScript a failed link answers with a redirect (so a reload never posts twice);
the typed text and the refusal ride in the session, like a flash message, and the form
shows them beside the input instead of at the top of the page.
"""

from __future__ import annotations

import dataclasses

SESSION_KEY = "integrations:link_attempt"


@dataclasses.dataclass(frozen=True)
class LinkAttempt:
    query: str = ""  # what was typed, kept in the input
    error: str = ""  # why it was refused, shown under the input
    success: str = ""  # what was linked (the in-place answer's confirmation)


def remember_link_attempt(request, anomaly_id: int, attempt: LinkAttempt) -> None:
    request.session[SESSION_KEY] = {"anomaly": anomaly_id, **dataclasses.asdict(attempt)}


def recall_link_attempt(request, anomaly_id: int) -> LinkAttempt:
    """The attempt on this anomaly's form, once; another anomaly's stays for its page."""
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("anomaly") != anomaly_id:
        return LinkAttempt()
    del request.session[SESSION_KEY]
    fields = {
        field.name: str(stored.get(field.name, "")) for field in dataclasses.fields(LinkAttempt)
    }
    return LinkAttempt(**fields)
