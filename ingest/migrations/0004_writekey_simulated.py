"""Write keys that post simulated traffic (the demo storefront, simulate_traffic).

The keys the demo seed and the simulator created before this field existed are marked by their
names, so an existing development database labels its demo results too."""

from django.db import migrations, models

# The names demo/seed.py and simulate_traffic give the keys they create.
SIMULATOR_KEY_NAMES = ("demo storefront", "simulate_traffic")


def mark_simulator_keys(apps, schema_editor):
    WriteKey = apps.get_model("ingest", "WriteKey")
    WriteKey.objects.filter(name__in=SIMULATOR_KEY_NAMES).update(simulated=True)


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0003_event_product_breakdowns"),
    ]

    operations = [
        migrations.AddField(
            model_name="writekey",
            name="simulated",
            field=models.BooleanField(
                default=False,
                help_text="Posts simulated traffic (the demo storefront, simulate_traffic): the experiments it sends "
                "events for are labelled 'simulated traffic' in every report.",
            ),
        ),
        migrations.RunPython(mark_simulator_keys, migrations.RunPython.noop),
    ]
