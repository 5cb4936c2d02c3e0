"""The latency floor's task (bench/latency.py): one comment POST on a kept-alive session,
the same body and entity property the product posts. Loaded only by the bench's worker
(`--include bench.latency_floor`)."""

import uuid

import requests
from celery import shared_task

from integrations.jira import adf
from integrations.jira.connector import NOTE_PROPERTY
from simulators.jira.seed import DEFAULT_EMAIL, DEFAULT_TOKEN

_session = requests.Session()
_session.auth = (DEFAULT_EMAIL, DEFAULT_TOKEN)


@shared_task(ignore_result=True)
def post_comment(sim_url: str, key: str) -> None:
    body = {
        "body": adf.text_to_adf("[bench] latency floor"),
        "properties": [{"key": NOTE_PROPERTY, "value": {"event": str(uuid.uuid4())}}],
    }
    url = f"{sim_url}/rest/api/3/issue/{key}/comment"
    _session.post(url, json=body, timeout=30).raise_for_status()
