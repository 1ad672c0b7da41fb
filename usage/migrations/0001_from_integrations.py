"""Product usage moves from ``integrations`` to its own app, with every table and row where it was.

State only for the models (their tables keep their ``integrations_*`` names, see
``usage.models``). In the database, the constraints named after the app are renamed,
and what named the old app follows: content types, and the task names in the outbox
and in beat's schedule.
"""

import cs_platform.tenancy
import django.contrib.postgres.indexes
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MODELS = (
    "writekey", "eventdefinition", "usageuser", "usageevent", "seenmessage", "dirtyday",
    "usagedaily", "accountusage", "usageconnector", "connectorrun",
)
# (table, constraint as the old app named it, as this app names it)
RENAMED_CONSTRAINTS = (
    ("integrations_eventdefinition", "integrations_eventdefinition_public_id", "usage_eventdefinition_public_id"),
    ("integrations_usageconnector", "integrations_usageconnector_public_id", "usage_usageconnector_public_id"),
    ("integrations_connectorrun", "integrations_connectorrun_public_id", "usage_connectorrun_public_id"),
    ("integrations_usageuser", "integrations_usageuser_public_id", "usage_usageuser_public_id"),
    ("integrations_writekey", "integrations_writekey_public_id", "usage_writekey_public_id"),
)
RENAME_CONSTRAINTS = "".join(f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new};" for table, old, new in RENAMED_CONSTRAINTS)
UNDO_RENAME_CONSTRAINTS = "".join(f"ALTER TABLE {table} RENAME CONSTRAINT {new} TO {old};" for table, old, new in RENAMED_CONSTRAINTS)


def _follow(apps, old: str, new: str) -> None:
    """What names the old app (content types, queued and scheduled task names) names the new one."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old, model__in=MODELS).update(app_label=new)
    OutboxMessage = apps.get_model("cs_platform", "OutboxMessage")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for model in (OutboxMessage, PeriodicTask):
        for row in model.objects.filter(task__startswith=f"{old}."):
            row.task = new + row.task.removeprefix(old)
            row.save(update_fields=["task"])


def forwards(apps, schema_editor) -> None:
    _follow(apps, "integrations", "usage")


def backwards(apps, schema_editor) -> None:
    _follow(apps, "usage", "integrations")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('integrations', '0004_seen_message_key_by_source'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('accounts', '0003_import_jobs'),
        ('cs_platform', '0003_outbox'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='UsageEvent',
                fields=[
                    ('id', models.BigIntegerField(primary_key=True, serialize=False)),
                    ('timestamp', models.DateTimeField()),
                    ('received_at', models.DateTimeField()),
                    ('type', models.CharField(max_length=8)),
                    ('event', models.CharField(max_length=200)),
                    ('user_id', models.CharField(max_length=200)),
                    ('anonymous_id', models.CharField(max_length=200)),
                    ('group_id', models.CharField(max_length=200)),
                    ('message_id', models.CharField(max_length=200)),
                    ('source', models.CharField(max_length=10)),
                    ('properties', models.JSONField(default=dict)),
                ],
                options={
                    'db_table': 'integrations_usageevent',
                    'managed': False,
                },
            ),
            migrations.CreateModel(
                name='UsageConnector',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.CharField(default=cs_platform.tenancy.new_public_id, editable=False, max_length=12)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('name', models.CharField(max_length=100)),
                    ('dsn_encrypted', models.TextField()),
                    ('dsn_hint', models.CharField(blank=True, help_text='The connection string without its password.', max_length=200)),
                    ('query', models.TextField()),
                    ('schedule_minutes', models.PositiveIntegerField(choices=[(60, 'Every hour'), (360, 'Every 6 hours'), (1440, 'Every day')], default=1440)),
                    ('enabled', models.BooleanField(default=True)),
                    ('since', models.DateField(blank=True, null=True)),
                    ('next_run_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_usageconnector',
                    'ordering': ['name'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='ConnectorRun',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.CharField(default=cs_platform.tenancy.new_public_id, editable=False, max_length=12)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='queued', max_length=10)),
                    ('started_at', models.DateTimeField(blank=True, null=True)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('since', models.DateField(blank=True, null=True)),
                    ('rows_read', models.IntegerField(default=0)),
                    ('rows_upserted', models.IntegerField(default=0)),
                    ('rows_unmatched', models.IntegerField(default=0)),
                    ('unmatched_sample', models.JSONField(blank=True, default=list)),
                    ('error', models.TextField(blank=True)),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                    ('triggered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('connector', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='usage.usageconnector')),
                ],
                options={
                    'db_table': 'integrations_connectorrun',
                    'ordering': ['-created_at', '-id'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='UsageDaily',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('day', models.DateField()),
                    ('metric', models.CharField(max_length=220)),
                    ('source', models.CharField(choices=[('events', 'Events (API)'), ('csv', 'CSV upload'), ('connector', 'Product database')], max_length=10)),
                    ('source_ref', models.CharField(blank=True, default='', max_length=40)),
                    ('value', models.FloatField()),
                    ('account', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
                    ('organization', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_usagedaily',
                },
            ),
            migrations.CreateModel(
                name='UsageUser',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.CharField(default=cs_platform.tenancy.new_public_id, editable=False, max_length=12)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('user_id', models.CharField(max_length=200)),
                    ('group_id', models.CharField(blank=True, help_text='The last group the product put this user in.', max_length=200)),
                    ('traits', models.JSONField(blank=True, default=dict)),
                    ('first_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('last_seen_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.account')),
                    ('contact', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.contact')),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_usageuser',
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='WriteKey',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.CharField(default=cs_platform.tenancy.new_public_id, editable=False, max_length=12)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('prefix', models.CharField(max_length=16)),
                    ('last_used_at', models.DateTimeField(blank=True, null=True)),
                    ('revoked_at', models.DateTimeField(blank=True, null=True)),
                    ('label', models.CharField(help_text='Which product or environment sends with it, e.g. “Web app (production)”.', max_length=100)),
                    ('key_hash', models.CharField(max_length=64, unique=True)),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_writekey',
                    'ordering': ['-created_at', '-id'],
                    'abstract': False,
                },
            ),
            migrations.CreateModel(
                name='AccountUsage',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('last_seen_at', models.DateTimeField(blank=True, null=True)),
                    ('logins_7d', models.IntegerField(default=0)),
                    ('active_users_7d', models.IntegerField(default=0, help_text='Distinct people active in the last 7 days (WAU).')),
                    ('seats', models.IntegerField(blank=True, null=True)),
                    ('wau_per_seat', models.FloatField(blank=True, help_text='Weekly active users ÷ seats, 0–1+.', null=True)),
                    ('events_7d', models.IntegerField(default=0)),
                    ('events_prev_7d', models.IntegerField(default=0)),
                    ('events_28d', models.IntegerField(default=0)),
                    ('events_prev_28d', models.IntegerField(default=0)),
                    ('api_calls_7d', models.IntegerField(default=0)),
                    ('features_used_30d', models.IntegerField(default=0)),
                    ('features_total', models.IntegerField(default=0)),
                    ('feature_adoption_pct', models.FloatField(blank=True, null=True)),
                    ('wow_change_pct', models.FloatField(blank=True, help_text='Events, last 7 days against the 7 before.', null=True)),
                    ('trend_4w_pct', models.FloatField(blank=True, help_text='Events, last 28 days against the 28 before.', null=True)),
                    ('computed_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('account', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='usage', to='accounts.account')),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_accountusage',
                    'constraints': [models.UniqueConstraint(fields=('organization', 'account'), name='account_usage_unique')],
                },
            ),
            migrations.CreateModel(
                name='DirtyDay',
                fields=[
                    ('id', models.BigAutoField(primary_key=True, serialize=False)),
                    ('day', models.DateField()),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_dirtyday',
                    'indexes': [models.Index(fields=['organization', 'day'], name='dirty_day_org_day')],
                },
            ),
            migrations.CreateModel(
                name='EventDefinition',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('public_id', models.CharField(default=cs_platform.tenancy.new_public_id, editable=False, max_length=12)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('role', models.CharField(choices=[('feature', 'Feature'), ('login', 'Login'), ('api_call', 'API call')], max_length=10)),
                    ('event_name', models.CharField(help_text='Exactly as the product sends it, e.g. “Flow Deployed”.', max_length=200)),
                    ('label', models.CharField(blank=True, help_text='How CSMs call it; the event name if empty.', max_length=120)),
                    ('description', models.CharField(blank=True, max_length=300)),
                    ('position', models.PositiveSmallIntegerField(default=0)),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_eventdefinition',
                    'ordering': ['role', 'position', 'event_name'],
                    'abstract': False,
                    'constraints': [models.UniqueConstraint(fields=('organization', 'public_id'), name='usage_eventdefinition_public_id'), models.UniqueConstraint(fields=('organization', 'role', 'event_name'), name='event_definition_unique')],
                },
            ),
            migrations.CreateModel(
                name='SeenMessage',
                fields=[
                    ('pk', models.CompositePrimaryKey('organization', 'message_id', blank=True, editable=False, primary_key=True, serialize=False)),
                    ('message_id', models.CharField(db_collation='C', max_length=220)),
                    ('seen_on', models.DateField()),
                    ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cs_platform.organization')),
                ],
                options={
                    'db_table': 'integrations_seenmessage',
                    'indexes': [django.contrib.postgres.indexes.BrinIndex(fields=['seen_on'], name='seen_message_seen_on')],
                },
            ),
            migrations.AddIndex(
                model_name='usageconnector',
                index=models.Index(fields=['organization', 'next_run_at'], name='usage_connector_due'),
            ),
            migrations.AddConstraint(
                model_name='usageconnector',
                constraint=models.UniqueConstraint(fields=('organization', 'public_id'), name='usage_usageconnector_public_id'),
            ),
            migrations.AddIndex(
                model_name='connectorrun',
                index=models.Index(fields=['organization', 'connector', '-created_at'], name='connector_run_recent'),
            ),
            migrations.AddConstraint(
                model_name='connectorrun',
                constraint=models.UniqueConstraint(fields=('organization', 'public_id'), name='usage_connectorrun_public_id'),
            ),
            migrations.AddIndex(
                model_name='usagedaily',
                index=models.Index(fields=['organization', 'day', 'metric'], name='usage_daily_org_day'),
            ),
            migrations.AddIndex(
                model_name='usagedaily',
                index=models.Index(condition=models.Q(('source', 'events'), _negated=True), fields=['organization', 'account', 'day'], name='usage_daily_other_sources'),
            ),
            migrations.AddConstraint(
                model_name='usagedaily',
                constraint=models.UniqueConstraint(fields=('organization', 'account', 'day', 'metric', 'source', 'source_ref'), name='usage_daily_unique'),
            ),
            migrations.AddIndex(
                model_name='usageuser',
                index=models.Index(fields=['organization', 'group_id'], name='usage_user_org_group'),
            ),
            migrations.AddConstraint(
                model_name='usageuser',
                constraint=models.UniqueConstraint(fields=('organization', 'public_id'), name='usage_usageuser_public_id'),
            ),
            migrations.AddConstraint(
                model_name='usageuser',
                constraint=models.UniqueConstraint(fields=('organization', 'user_id'), name='usage_user_unique'),
            ),
            migrations.AddConstraint(
                model_name='writekey',
                constraint=models.UniqueConstraint(fields=('organization', 'public_id'), name='usage_writekey_public_id'),
            ),
            ],
            database_operations=[migrations.RunSQL(RENAME_CONSTRAINTS, UNDO_RENAME_CONSTRAINTS)],
        ),
        migrations.RunPython(forwards, backwards),
    ]
