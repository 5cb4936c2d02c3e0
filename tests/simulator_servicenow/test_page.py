"""The read-only HTML view behind each incident URL form (docs/servicenow-api.md §7.2)."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

import pytest
import requests

from .conftest import TableAPI


def test_the_index_lists_incidents_with_their_journal(sim, api: TableAPI) -> None:
    api.patch(api.incident("INC0010001")["sys_id"], {"work_notes": "<script>x</script>"})
    page = requests.get(f"{sim.url}/", timeout=5)
    assert page.status_code == HTTPStatus.OK
    assert "INC0010005" in page.text and "Data Quality" in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/incident.do?sys_id={id}",
        "/incident.do?sysparm_query=number=INC0010003",
        "/nav_to.do?uri=incident.do?sys_id={id}",
        "/nav_to.do?uri=" + quote("/incident.do?sys_id={id}", safe="{}"),
        "/now/nav/ui/classic/params/target/" + quote("incident.do?sys_id={id}", safe="{}"),
        "/now/sow/record/incident/{id}",
        "/now/workspace/agent/record/incident/{id}",
    ],
)
def test_each_url_form_shows_the_incident(sim, api: TableAPI, path: str) -> None:
    sys_id = api.incident("INC0010003")["sys_id"]
    page = requests.get(sim.url + path.format(id=sys_id), timeout=5)
    assert page.status_code == HTTPStatus.OK
    assert "INC0010003: Replica lag on the reporting database" in page.text


def test_a_new_record_form_is_not_an_incident(sim) -> None:
    assert requests.get(f"{sim.url}/incident.do?sys_id=-1", timeout=5).status_code == 404
