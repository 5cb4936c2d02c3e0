"""ServiceNow instance URLs, incident numbers, incident URLs and encoded-query values: the only
places user text meets a URL or a query (docs/servicenow-api.md §1.1, §2.2, §7)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from ..site_url import SiteUrlWords, normalize_site_url

# Prefix plus a zero-padded counter of at least 7 digits (§7.1).
INCIDENT_NUMBER = re.compile(r"INC[0-9]{7,12}", re.IGNORECASE)
SYS_ID = re.compile(r"[0-9a-f]{32}")
_SYS_ID_PARAM = re.compile(r"(?:^|[?&])sys_id=([0-9a-fA-F]{32})(?![0-9a-zA-Z])")
_NUMBER_PARAM = re.compile(r"(?:^|[?&^=])number=(INC[0-9]{7,12})(?![0-9])", re.IGNORECASE)
_RECORD_SEGMENT = re.compile(r"/record/incident/([0-9a-fA-F]{32})(?:[/?#]|$)")
_INCIDENT_FORM = re.compile(r"(?:^|[/=])incident\.do(?=[?#]|$)")
MAX_DECODE_ROUNDS = 5
EXAMPLE = "https://your-instance.service-now.com"
INSTANCE_URL_WORDS = SiteUrlWords(
    name="instance URL",
    enter_full=f"Enter the full ServiceNow instance URL, like {EXAMPLE}.",
    enter_only=f"Enter only the instance address, like {EXAMPLE}.",
)


def normalize_instance_url(url: str, *, allow_insecure_loopback: bool) -> str:
    """``https://host[:port]`` in canonical form, or ``ValueError`` saying what is wrong.

    Custom domains exist, so the ``.service-now.com`` suffix is not insisted on (§1.1). Plain
    http is accepted only for loopback hosts, and only when allowed (local simulator).
    """
    return normalize_site_url(
        url, INSTANCE_URL_WORDS, allow_insecure_loopback=allow_insecure_loopback
    )


@dataclass(frozen=True)
class IncidentRef:
    """What an incident URL names: its sys_id, or else its number."""

    sys_id: str = ""
    number: str = ""


def incident_ref_from_url(url: str, instance_url: str) -> IncidentRef | None:
    """The incident an URL of §7.2 names, when it points at ``instance_url``; else None.

    The text is URL-decoded until stable (the framed ``uri`` may be encoded once or twice),
    then a ``/record/incident/<sys_id>`` segment, an ``incident.do`` ``sys_id=`` or an
    ``incident.do`` ``number=`` query is taken. ``sys_id=-1`` (the new-record form) never
    matches. The caller confirms with a GET.
    """
    parts = urlsplit(url.strip())
    try:
        origin = normalize_instance_url(
            f"{parts.scheme}://{parts.netloc}", allow_insecure_loopback=True
        )
    except ValueError:
        return None
    if origin != instance_url:
        return None
    rest = _decoded(url.strip()[len(f"{parts.scheme}://{parts.netloc}") :])
    record = _RECORD_SEGMENT.search(rest)
    if record:
        return IncidentRef(sys_id=record.group(1).lower())
    form_at = _INCIDENT_FORM.search(rest)
    if form_at is None:
        return None
    form_query = rest[form_at.end() :]
    sys_id = _SYS_ID_PARAM.search(form_query)
    if sys_id:
        return IncidentRef(sys_id=sys_id.group(1).lower())
    number = _NUMBER_PARAM.search(form_query)
    return IncidentRef(number=number.group(1).upper()) if number else None


def _decoded(text: str) -> str:
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def incident_form_url(instance_url: str, sys_id: str) -> str:
    """The classic form, the one the product links with (§7.2)."""
    if not SYS_ID.fullmatch(sys_id):
        raise ValueError(f"Not a ServiceNow sys_id: {sys_id!r}")
    return f"{instance_url}/incident.do?sys_id={sys_id}"


def query_value(text: str) -> str:
    """User text made safe as one encoded-query value: ``^`` would start a new term, and
    control characters have no place in a query (§2.2). ``requests`` URL-encodes the rest."""
    flat = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return flat.replace("^", " ").strip()


def path_segment(value: str) -> str:
    # sys_ids come from users and links: never let one climb out of its URL segment.
    if not SYS_ID.fullmatch(value):
        raise ValueError(f"Not a ServiceNow sys_id: {value!r}")
    return quote(value, safe="")
