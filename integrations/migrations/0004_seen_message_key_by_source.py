"""Seen message ids carry their source ("segment:…", "mixpanel:…"), so the column grows.

Widening a varchar is a catalogue change in PostgreSQL: no rewrite, no index rebuild.
Keys seen before this migration keep their old form; they are purged within
USAGE_DEDUP_DAYS, so only a retry straddling the upgrade could be stored twice.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0003_seen_message_c_collation"),
    ]

    operations = [
        migrations.AlterField(
            model_name="seenmessage",
            name="message_id",
            field=models.CharField(db_collation="C", max_length=220),
        ),
    ]
