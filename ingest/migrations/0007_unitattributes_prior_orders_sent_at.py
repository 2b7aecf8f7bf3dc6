# The storefront's count of a visitor's prior orders (CUPED's covariate where the platform has no history of
# the unit) and the time of the event that sent the unit's attributes.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ingest', '0006_event_unit_ts'),
    ]

    operations = [
        migrations.AddField(
            model_name="unitattributes",
            name="sent_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Time (ts) of the event that sent these attributes; null before it was kept.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name='unitattributes',
            name='prior_orders',
            field=models.PositiveIntegerField(blank=True, help_text="The visitor's orders before, as the storefront counts them (a covariate).", null=True),
        ),
    ]
