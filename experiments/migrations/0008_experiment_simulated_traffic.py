"""`Experiment.simulated_traffic`: set when its events come from the traffic simulator.

Experiments that already hold events from a simulated write key (the demo's, marked by ingest
0003) are marked here. The scan runs only where such a key exists: a production database has
none, so its event table is not read."""

from django.db import migrations, models


def mark_simulated(apps, schema_editor):
    WriteKey = apps.get_model("ingest", "WriteKey")
    Event = apps.get_model("ingest", "Event")
    Experiment = apps.get_model("experiments", "Experiment")
    keys = list(WriteKey.objects.filter(simulated=True).values_list("pk", flat=True))
    if not keys:
        return
    experiments = Event.objects.filter(write_key_id__in=keys).values("experiment_id").distinct()
    Experiment.objects.filter(pk__in=experiments).update(simulated_traffic=True)


class Migration(migrations.Migration):
    dependencies = [
        ("experiments", "0007_catalog_experiments"),
        ("ingest", "0004_writekey_simulated"),
    ]

    operations = [
        migrations.AddField(
            model_name="experiment",
            name="simulated_traffic",
            field=models.BooleanField(
                default=False,
                help_text="Events came from the traffic simulator (simulate_traffic, the demo seed) or a write key "
                "marked simulated: every report of this experiment says so, since its lifts describe made-up "
                "visitors.",
            ),
        ),
        migrations.RunPython(mark_simulated, migrations.RunPython.noop),
    ]
