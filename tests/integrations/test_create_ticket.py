"""The Create Jira ticket page, over real HTTP to the Jira simulator (PRODUCT.md §4)."""

import json
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.urls import reverse

from anomalies.models import AnomalyType, FailedCheck
from integrations.jira import CreateField, JiraIssueType, JiraProject
from integrations.jira.create_form import create_form_spec, custom_field_values
from integrations.models import StatusCategory, TicketLink
from integrations.ticket_forms import CreateTicketForm
from tests.conftest import make_anomaly
from tests.integrations import page

SEEDED_ISSUE_COUNT = 5  # DQ-1..DQ-3, OPS-1, OPS-2 (simulators/jira/seed.py)
ALICE = "712020:sim-alice"
TASK, BUG, STORY, INCIDENT = "10001", "10002", "10003", "10004"
HIGH = "2"
PIPELINES = "10101"


def create_url(anomaly) -> str:
    return reverse("integrations:create", args=[anomaly.pk])


def ticket_form(**overrides) -> dict:
    """What a user submits when they fill in all seven fields and press Create."""
    return {
        "project": "DQ",
        "issue_type": BUG,
        "summary": "Null customer ids in orders",
        "description": "Seen after the nightly load.",
        "priority": HIGH,
        "labels": "data-quality, orders",
        "assignee_query": "",
        "assignee": ALICE,
        "create": "1",
        **overrides,
    }


def issue_creations(jira_sim) -> list[dict]:
    return [
        entry
        for entry in jira_sim.control.requests()
        if (entry["method"], entry["path"]) == ("POST", "/rest/api/3/issue")
    ]


def created_issues(jira_sim) -> list[dict]:
    return jira_sim.control.issues()[SEEDED_ISSUE_COUNT:]


# --- the form ----------------------------------------------------------------------------


def test_it_offers_projects_issue_types_and_priorities_from_jira(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = page.parse(client.get(create_url(anomaly)))

    assert page.option_labels(form, "project") == ["Data Quality (DQ)", "Operations (OPS)"]
    assert page.selected(form, "project") == "DQ"
    assert page.option_labels(form, "issue_type") == ["Task", "Bug", "Story"]
    assert page.option_labels(form, "priority") == [
        "Default",
        "Highest",
        "High",
        "Medium",
        "Low",
        "Lowest",
    ]


def test_it_preselects_the_default_project_of_the_integration(
    client, anomaly, member_reporter, jira_integration
):
    jira_integration.default_project_key = "OPS"
    jira_integration.save(update_fields=["default_project_key"])
    client.force_login(member_reporter)

    form = page.parse(client.get(create_url(anomaly)))

    assert page.selected(form, "project") == "OPS"
    assert page.option_labels(form, "issue_type") == ["Task", "Bug", "Incident"]


def test_it_shows_all_seven_fields_with_the_summary_taken_from_the_anomaly(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = page.parse(client.get(create_url(anomaly)))

    seven = ("project", "issue_type", "summary", "description", "priority", "labels", "assignee")
    assert [name for name in seven if not page.has_control(form, name)] == []
    assert page.value(form, "summary") == (
        f"Anomaly #{anomaly.pk}: 12 records have a null customer_id."
    )


def test_it_prefills_a_single_line_summary_from_a_multi_line_description(
    client, orders, member_reporter, jira_integration
):
    anomaly = make_anomaly(orders, description="Nulls in customer_id.\nSeen since Monday.")
    client.force_login(member_reporter)

    form = page.parse(client.get(create_url(anomaly)))

    assert page.value(form, "summary") == (
        f"Anomaly #{anomaly.pk}: Nulls in customer_id. Seen since Monday."
    )


def test_it_hides_the_priority_for_an_issue_type_without_one(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    response = client.post(
        create_url(anomaly), {"_refresh": "issue_type", "project": "DQ", "issue_type": STORY}
    )

    form = page.parse(response)
    assert page.selected(form, "issue_type") == STORY
    assert not page.has_control(form, "priority")


def test_it_finds_assignable_users_by_name(client, anomaly, member_reporter, jira_integration):
    client.force_login(member_reporter)

    response = client.post(
        create_url(anomaly),
        {"_refresh": "assignee", "project": "DQ", "issue_type": TASK, "assignee_query": "ali"},
    )

    assert page.options(page.parse(response), "assignee") == [
        ("", "Unassigned"),
        (ALICE, "Alice Andersen"),
    ]


def test_it_keeps_what_was_typed_when_switching_project(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    typed = {
        "summary": "Orders are missing customers",
        "description": "Started on Monday.",
        "labels": "orders, completeness",
    }

    response = client.post(
        create_url(anomaly),
        {"_refresh": "project", "project": "OPS", "issue_type": BUG, **typed},
    )

    form = page.parse(response)
    assert page.selected(form, "project") == "OPS"
    assert page.option_labels(form, "issue_type") == ["Task", "Bug", "Incident"]
    assert page.selected(form, "issue_type") == BUG
    for name, text in typed.items():
        assert page.value(form, name) == text
    assert issue_creations(jira_sim) == []


# --- required custom fields -------------------------------------------------------------


def incident_form(client, anomaly):
    return page.parse(
        client.post(
            create_url(anomaly),
            {"_refresh": "issue_type", "project": "OPS", "issue_type": INCIDENT},
        )
    )


def test_it_renders_a_required_custom_field_from_the_create_metadata(
    client, anomaly, member_reporter, jira_integration
):
    client.force_login(member_reporter)

    form = incident_form(client, anomaly)

    label = page.element(form, "label", class_="field-jira_customfield_10050")
    assert "Impacted system" in page.text(label)
    assert page.option_labels(form, "jira_customfield_10050") == [
        "Choose…",
        "Warehouse",
        "Pipelines",
        "Dashboards",
    ]


def test_it_sends_the_custom_field_value_in_the_shape_jira_expects(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    submitted = ticket_form(
        project="OPS",
        issue_type=INCIDENT,
        assignee="",
        jira_customfield_10050=PIPELINES,
    )

    response = client.post(create_url(anomaly), submitted)

    assert response.status_code == HTTPStatus.FOUND
    (issue,) = created_issues(jira_sim)
    assert issue["key"] == "OPS-3"
    assert issue["fields"]["customfield_10050"]["id"] == PIPELINES
    assert issue["fields"]["customfield_10050"]["value"] == "Pipelines"
    assert jira_sim.control.violations()["violations"] == []


def test_it_asks_for_a_missing_required_custom_field_before_calling_jira(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    submitted = ticket_form(project="OPS", issue_type=INCIDENT, assignee="")

    response = client.post(create_url(anomaly), submitted)

    assert response.status_code == HTTPStatus.OK
    assert page.errors_beside(page.parse(response), "jira_customfield_10050") == [
        "This field is required."
    ]
    assert issue_creations(jira_sim) == []


def required_custom_field(field_id: str, name: str, schema: dict, allowed=()) -> CreateField:
    """One entry of Jira's create metadata, as GET …/createmeta/{project}/issuetypes/{id}."""
    return CreateField.from_json(
        {
            "fieldId": field_id,
            "key": field_id,
            "name": name,
            "required": True,
            "hasDefaultValue": False,
            "schema": schema,
            "allowedValues": list(allowed),
        }
    )


def test_it_shapes_each_kind_of_required_custom_field_as_jira_takes_it():
    custom = "com.atlassian.jira.plugin.system.customfieldtypes"
    fields_meta = [
        required_custom_field("customfield_1", "Rows", {"type": "number"}),
        required_custom_field("customfield_2", "Share", {"type": "number"}),
        required_custom_field("customfield_3", "Due", {"type": "date"}),
        required_custom_field(
            "customfield_4",
            "Systems",
            {"type": "array", "items": "option"},
            [{"id": "1", "value": "Warehouse"}, {"id": "2", "value": "Pipelines"}],
        ),
        required_custom_field(
            "customfield_5", "Team", {"type": "option"}, [{"id": "7", "value": "Data"}]
        ),
        required_custom_field("customfield_6", "Source", {"type": "string"}),
        required_custom_field(
            "customfield_7", "Root cause", {"type": "string", "custom": f"{custom}:textarea"}
        ),
    ]
    submitted = {
        "project": "DQ",
        "issue_type": TASK,
        "summary": "Nulls",
        "jira_customfield_1": "12",
        "jira_customfield_2": "2.5",
        "jira_customfield_3": "2024-02-01",
        "jira_customfield_4": ["1", "2"],
        "jira_customfield_5": "7",
        "jira_customfield_6": "orders loader",
        "jira_customfield_7": "Loader crashed.",
    }
    spec = create_form_spec(
        projects=[JiraProject(id="10000", key="DQ", name="Data Quality")],
        issue_types=[JiraIssueType(id=TASK, name="Task", subtask=False)],
        fields_meta=fields_meta,
        assignees=[],
    )
    form = CreateTicketForm(QueryDict(urlencode(submitted, doseq=True)), spec=spec)

    assert form.is_valid(), form.errors
    assert custom_field_values(spec, form.cleaned_data) == {
        "customfield_1": 12,
        "customfield_2": 2.5,
        "customfield_3": "2024-02-01",
        "customfield_4": [{"id": "1"}, {"id": "2"}],
        "customfield_5": {"id": "7"},
        "customfield_6": "orders loader",
        "customfield_7": {
            "version": 1,
            "type": "doc",
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Loader crashed."}]}
            ],
        },
    }


# --- creating ----------------------------------------------------------------------------


def test_it_creates_the_issue_in_jira_with_all_seven_fields(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)

    client.post(create_url(anomaly), ticket_form())

    (issue,) = created_issues(jira_sim)
    fields = issue["fields"]
    assert issue["key"] == "DQ-4"
    assert fields["project"]["key"] == "DQ"
    assert fields["issuetype"]["name"] == "Bug"
    assert fields["summary"] == "Null customer ids in orders"
    assert fields["priority"]["name"] == "High"
    assert fields["labels"] == ["data-quality", "orders"]
    assert fields["assignee"]["accountId"] == ALICE
    description = fields["description"]["content"]
    assert description[0]["content"][0]["text"] == "Seen after the nightly load."
    assert jira_sim.control.violations() == {"count": 0, "violations": []}


def test_it_stores_the_link_and_shows_the_new_key(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)

    response = client.post(create_url(anomaly), ticket_form(), follow=True)

    link = TicketLink.objects.get(anomaly=anomaly)
    assert (link.issue_key, link.url) == ("DQ-4", f"{jira_sim.url}/browse/DQ-4")
    assert link.summary == "Null customer ids in orders"
    assert (link.status_name, link.status_category) == ("To Do", StatusCategory.TO_DO)
    assert (link.origin, link.linked_by) == (TicketLink.Origin.CREATED, member_reporter)
    assert "Created Jira issue DQ-4 and linked it." in page.messages(page.parse(response))
    assert anomaly.history.get().summary == "Created Jira issue DQ-4"


def test_it_creates_an_issue_type_without_priority_even_if_one_was_chosen_before(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)

    client.post(create_url(anomaly), ticket_form(issue_type=STORY, priority=HIGH))

    (issue,) = created_issues(jira_sim)
    assert issue["fields"]["issuetype"]["name"] == "Story"
    assert TicketLink.objects.get(anomaly=anomaly).issue_key == issue["key"]


def test_it_accepts_a_summary_of_exactly_255_characters(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    longest = "s" * 255

    client.post(create_url(anomaly), ticket_form(summary=longest))

    (issue,) = created_issues(jira_sim)
    assert issue["fields"]["summary"] == longest
    assert TicketLink.objects.get(anomaly=anomaly).summary == longest


# --- the description, byte for byte ------------------------------------------------------

FROZEN_NOW = datetime(2024, 1, 15, 10, 30, 0, tzinfo=UTC)
ANOMALY_UUID = uuid.UUID("5f0c7a52-3d2e-4c1b-9a43-0d6f1e2b7c88")


@pytest.fixture
def fixed_anomaly(orders):
    anomaly = make_anomaly(
        orders,
        pk=4242,
        uuid=ANOMALY_UUID,
        anomaly_type=AnomalyType.SHAPE,
        detected_at=datetime(2024, 1, 14, 23, 5, 9, tzinfo=UTC),
    )
    FailedCheck.objects.create(
        anomaly=anomaly, rule_type="isUnique", field_name="", message="Duplicate order ids."
    )
    return anomaly


def test_it_sends_the_description_with_the_anomaly_context_byte_for_byte(
    client, fixed_anomaly, member_reporter, jira_sim, jira_integration, settings, monkeypatch
):
    settings.SITE_URL = "https://qualytics.example.com"
    monkeypatch.setattr("django.utils.timezone.now", lambda: FROZEN_NOW)
    client.force_login(member_reporter)

    client.post(create_url(fixed_anomaly), ticket_form())

    (issue,) = created_issues(jira_sim)
    anomaly_url = "https://qualytics.example.com/anomalies/4242/"
    expected = {
        "version": 1,
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": "Seen after the nightly load."}],
            },
            {"type": "rule"},
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "Qualytics Anomaly Linked [2024-01-15 10:30:00 UTC]",
                        "marks": [{"type": "strong"}],
                    }
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": f"Anomaly ID: 4242 ({ANOMALY_UUID})"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Status: Active"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Type: Shape"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Detected: 2024-01-14 23:05:09 UTC"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Datastore: Sales Warehouse"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Container: orders"},
                    {"type": "hardBreak"},
                    {
                        "type": "text",
                        "text": "Failed check: notNull on customer_id: "
                        "12 records have a null customer_id.",
                    },
                    {"type": "hardBreak"},
                    {"type": "text", "text": "Failed check: isUnique: Duplicate order ids."},
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "View the anomaly in Qualytics: "},
                    {
                        "type": "text",
                        "text": anomaly_url,
                        "marks": [{"type": "link", "attrs": {"href": anomaly_url}}],
                    },
                ],
            },
        ],
    }
    assert json.dumps(issue["fields"]["description"]) == json.dumps(expected)


# --- what the form refuses, and what Jira refuses ---------------------------------------


def test_it_refuses_labels_with_spaces_without_calling_jira(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)

    response = client.post(create_url(anomaly), ticket_form(labels="data quality, orders"))

    assert response.status_code == HTTPStatus.OK
    assert page.errors_beside(page.parse(response), "labels") == [
        "Jira labels cannot contain spaces: “data quality”. Use a dash or underscore."
    ]
    assert issue_creations(jira_sim) == []
    assert not TicketLink.objects.exists()


def test_it_refuses_a_summary_over_255_characters_without_calling_jira(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)

    response = client.post(create_url(anomaly), ticket_form(summary="s" * 256))

    assert page.errors_beside(page.parse(response), "summary") == [
        "Jira limits the summary to 255 characters."
    ]
    assert issue_creations(jira_sim) == []
    assert not TicketLink.objects.exists()


def test_it_shows_jiras_field_error_beside_the_field_and_stores_nothing(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    client.force_login(member_reporter)
    # Jira counts the limit on the stored document; the form leaves that check to Jira.
    too_long = "word " * 7000

    response = client.post(create_url(anomaly), ticket_form(description=too_long))

    form = page.parse(response)
    assert page.errors_beside(form, "description") == [
        "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
    ]
    assert page.value(form, "summary") == "Null customer ids in orders"
    assert created_issues(jira_sim) == []
    assert not TicketLink.objects.exists()
    assert not anomaly.history.exists()


def test_it_shows_jiras_message_when_jira_refuses_the_whole_request(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    jira_sim.control.add_fault(
        method="POST",
        path_regex="^/rest/api/3/issue$",
        status=HTTPStatus.BAD_REQUEST,
        body={"errorMessages": ["Issue creation is disabled for this project."], "errors": {}},
    )
    client.force_login(member_reporter)

    response = client.post(create_url(anomaly), ticket_form())

    assert response.status_code == HTTPStatus.OK
    (shown,) = page.messages(page.parse(response))
    assert "Issue creation is disabled for this project." in shown
    assert not TicketLink.objects.exists()


# --- who may, and when it cannot work ----------------------------------------------------


def test_it_hides_the_anomaly_from_outsiders(client, anomaly, outsider, jira_sim, jira_integration):
    client.force_login(outsider)

    assert client.get(create_url(anomaly)).status_code == HTTPStatus.NOT_FOUND
    assert client.post(create_url(anomaly), ticket_form()).status_code == HTTPStatus.NOT_FOUND
    assert jira_sim.control.requests() == []


def test_it_says_so_when_no_integration_is_connected(client, anomaly, member_reporter):
    client.force_login(member_reporter)

    response = client.get(create_url(anomaly), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("anomalies:detail", args=[anomaly.pk]))
    assert "No ticketing integration is connected." in page.messages(page.parse(response))


def test_it_says_so_when_jira_cannot_be_reached(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    jira_sim.control.add_unavailable(path_regex="/project/search")
    client.force_login(member_reporter)

    response = client.get(create_url(anomaly), follow=True)

    assert response.status_code == HTTPStatus.OK
    (shown,) = page.messages(page.parse(response))
    assert shown.startswith("Jira could not be reached")


def test_it_keeps_what_was_typed_when_jira_fails_while_sending(
    client, anomaly, member_reporter, jira_sim, jira_integration
):
    jira_sim.control.add_unavailable(path_regex="/project/search")  # once, then Jira is back
    client.force_login(member_reporter)
    typed = ticket_form(summary="Typed before the outage")

    response = client.post(create_url(anomaly), typed)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "Nothing was created" in response.text
    kept = {
        page.attribute(field, "name"): page.attribute(field, "value")
        for field in page.elements(page.parse(response), "input", type="hidden")
    }
    assert kept["summary"] == "Typed before the outage"
    assert issue_creations(jira_sim) == []

    retried = client.post(create_url(anomaly), {**kept, "_refresh": "retry"})

    form = retried.context["form"]
    assert (form["summary"].value(), form["labels"].value()) == (
        "Typed before the outage",
        "data-quality, orders",
    )
