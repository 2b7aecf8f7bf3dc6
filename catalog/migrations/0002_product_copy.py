"""Products get their current live copy (what a catalog experiment's control arm shows); existing
products start with their description, which is what storefronts showed until now."""

from django.db import migrations, models


def copy_from_description(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    Product.objects.filter(copy="").update(copy=models.F("description"))


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="copy",
            field=models.TextField(
                blank=True,
                help_text="The copy the shop shows today: what a catalog experiment's control arm shows.",
            ),
        ),
        migrations.RunPython(copy_from_description, migrations.RunPython.noop),
    ]
