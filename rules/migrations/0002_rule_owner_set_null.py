"""A user who owns rules can be deleted: the rule keeps the owner's name (``owner_name``) and
pauses (rules/services/owners.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def snapshot_owner_names(apps, schema_editor):
    TicketRule = apps.get_model("rules", "TicketRule")
    for rule in TicketRule.objects.select_related("owner").filter(owner__isnull=False):
        TicketRule.objects.filter(pk=rule.pk).update(owner_name=rule.owner.username)


class Migration(migrations.Migration):
    dependencies = [
        ("rules", "0001_initial_ticket_rules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketrule",
            name="owner_name",
            field=models.CharField(blank=True, editable=False, max_length=150),
        ),
        migrations.AlterField(
            model_name="ticketrule",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(snapshot_owner_names, migrations.RunPython.noop),
    ]
