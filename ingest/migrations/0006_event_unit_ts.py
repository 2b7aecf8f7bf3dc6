# A unit's events across experiments in time order: the pre-exposure covariate of CUPED.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0005_unit_attributes_for_segments"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["unit", "ts"], name="event_unit_ts"),
        ),
    ]
