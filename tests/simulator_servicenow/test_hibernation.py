"""A hibernating developer instance answers 200 with HTML (docs/servicenow-api.md §8.3)."""

from __future__ import annotations

from http import HTTPStatus

from simulators.servicenow import ServiceNowControl

from .conftest import TableAPI


def test_a_hibernating_instance_answers_every_call_with_an_html_200(
    api: TableAPI, control: ServiceNowControl
) -> None:
    control.set_hibernating(True)
    sys_id = "0" * 32
    for response in (
        api.get("incident"),
        api.post({"short_description": "x"}),
        api.patch(sys_id, {"work_notes": "x"}),
        TableAPI(api.base_url, auth=None).get("incident"),
    ):
        assert response.status_code == HTTPStatus.OK
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Your instance is hibernating" in response.text
        assert "instance-hibernating-page" in response.text
    assert len(control.incidents()) == 5  # the control API stays awake
    control.set_hibernating(False)
    assert api.get("incident").headers["Content-Type"].startswith("application/json")


def test_it_can_serve_the_page_for_a_few_requests(
    api: TableAPI, control: ServiceNowControl
) -> None:
    control.add_html_200(count=1, method="POST")
    response = api.post({"short_description": "x"})
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("text/html")
    assert len(control.incidents()) == 5
    assert api.post({"short_description": "x"}).status_code == HTTPStatus.CREATED
