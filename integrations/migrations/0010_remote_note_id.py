from django.db import migrations


class Migration(migrations.Migration):
    """The delivered note's id is the remote's, whichever connector: no longer named after Jira."""

    dependencies = [("integrations", "0009_change_kind_enum_connector_kind_from_registry")]

    operations = [
        migrations.RenameField(
            model_name="syncevent", old_name="jira_comment_id", new_name="remote_note_id"
        ),
    ]
