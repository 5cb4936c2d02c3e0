from django.db import migrations


def create_public_team(apps, schema_editor):
    Team = apps.get_model("anomalies", "Team")
    Team.objects.get_or_create(is_public=True, defaults={"name": "Public"})


class Migration(migrations.Migration):
    dependencies = [("anomalies", "0001_initial")]

    operations = [migrations.RunPython(create_public_team, migrations.RunPython.noop)]
