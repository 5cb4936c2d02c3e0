"""Rule templates hold the ticket's fields by the create form's field names (any connector)
instead of Jira-shaped columns. Existing rules were made for Jira, so their project, issue
type, labels and assignee become Jira's create-form fields, and each priority band's
``priority_id`` becomes ``{"priority": …}``."""

from django.db import migrations, models


def _split(text):
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def to_neutral(apps, schema_editor):
    TicketRule = apps.get_model("rules", "TicketRule")
    for rule in TicketRule.objects.all():
        fields = {
            "project": rule.project_key,
            "issue_type": rule.issue_type_id,
            "labels": _split(rule.labels),
            "assignee": rule.assignee_account_id,
        }
        rule.ticket_fields = {name: value for name, value in fields.items() if value}
        rule.priority_bands = [
            {
                "min_weight": int(band["min_weight"]),
                "values": {"priority": str(band["priority_id"])},
            }
            for band in rule.priority_bands or []
            if "priority_id" in band
        ]
        used = (
            set(rule.ticket_fields) | {"priority"}
            if rule.priority_bands
            else set(rule.ticket_fields)
        )
        rule.ticket_connector = "jira" if used else ""
        rule.ticket_scope = rule.project_key
        # Standard fields: Jira's connector sends them without further description.
        rule.ticket_form = [
            {"name": name, "label": name, "kind": "choice", "remote_name": "", "remote_type": ""}
            for name in sorted(used)
        ]
        rule.save(
            update_fields=[
                "ticket_fields",
                "priority_bands",
                "ticket_connector",
                "ticket_scope",
                "ticket_form",
            ]
        )


def to_jira_columns(apps, schema_editor):
    TicketRule = apps.get_model("rules", "TicketRule")
    for rule in TicketRule.objects.all():
        fields = rule.ticket_fields or {}
        rule.project_key = str(fields.get("project") or rule.ticket_scope or "")[:50]
        rule.issue_type_id = str(fields.get("issue_type") or "")[:32]
        labels = fields.get("labels") or []
        rule.labels = ", ".join(labels) if isinstance(labels, list) else str(labels)
        rule.assignee_account_id = str(fields.get("assignee") or "")[:128]
        rule.priority_bands = [
            {"min_weight": band["min_weight"], "priority_id": band["values"]["priority"]}
            for band in rule.priority_bands or []
            if "priority" in band.get("values", {})
        ]
        rule.save()


class Migration(migrations.Migration):
    dependencies = [("rules", "0002_rule_owner_set_null")]

    operations = [
        migrations.AddField(
            model_name="ticketrule",
            name="ticket_fields",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='The create form\'s fields, e.g. {"issue_type": "10001", "labels": ["dq"]}.',
            ),
        ),
        migrations.AddField(
            model_name="ticketrule",
            name="ticket_connector",
            field=models.CharField(blank=True, editable=False, max_length=20),
        ),
        migrations.AddField(
            model_name="ticketrule",
            name="ticket_scope",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="ticketrule",
            name="ticket_form",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(to_neutral, to_jira_columns),
        migrations.RemoveField(model_name="ticketrule", name="assignee_account_id"),
        migrations.RemoveField(model_name="ticketrule", name="issue_type_id"),
        migrations.RemoveField(model_name="ticketrule", name="labels"),
        migrations.RemoveField(model_name="ticketrule", name="project_key"),
        migrations.AlterField(
            model_name="ticketrule",
            name="priority_bands",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='[{"min_weight": 80, "values": {"priority": "1"}}, …]: the highest band '
                "reached adds its values (fields of the create form) to the ticket.",
            ),
        ),
    ]
