"""Product usage's models now belong to the ``usage`` app (its 0001): forgotten here, state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0004_seen_message_key_by_source'),
        ('usage', '0001_from_integrations'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveField(
                model_name='accountusage',
                name='account',
            ),
            migrations.RemoveField(
                model_name='accountusage',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='connectorrun',
                name='connector',
            ),
            migrations.RemoveField(
                model_name='connectorrun',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='connectorrun',
                name='triggered_by',
            ),
            migrations.RemoveField(
                model_name='dirtyday',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='eventdefinition',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='seenmessage',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='usageconnector',
                name='created_by',
            ),
            migrations.RemoveField(
                model_name='usageconnector',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='usagedaily',
                name='account',
            ),
            migrations.RemoveField(
                model_name='usagedaily',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='usageuser',
                name='account',
            ),
            migrations.RemoveField(
                model_name='usageuser',
                name='contact',
            ),
            migrations.RemoveField(
                model_name='usageuser',
                name='organization',
            ),
            migrations.RemoveField(
                model_name='writekey',
                name='created_by',
            ),
            migrations.RemoveField(
                model_name='writekey',
                name='organization',
            ),
            migrations.DeleteModel(
                name='UsageEvent',
            ),
            migrations.DeleteModel(
                name='AccountUsage',
            ),
            migrations.DeleteModel(
                name='ConnectorRun',
            ),
            migrations.DeleteModel(
                name='DirtyDay',
            ),
            migrations.DeleteModel(
                name='EventDefinition',
            ),
            migrations.DeleteModel(
                name='SeenMessage',
            ),
            migrations.DeleteModel(
                name='UsageConnector',
            ),
            migrations.DeleteModel(
                name='UsageDaily',
            ),
            migrations.DeleteModel(
                name='UsageUser',
            ),
            migrations.DeleteModel(
                name='WriteKey',
            ),
            ],
        ),
    ]
