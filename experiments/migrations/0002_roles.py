"""Seed the three categories of the paper and create the Marketer and Analyst groups.

Group permissions are (re)assigned after every migrate by abplatform.roles.role_permissions_sync,
so models added later join the roles too."""

from django.db import migrations

from catalog.paper import paper_categories_seed

ROLES = ("Marketer", "Analyst")


def create_categories(apps, schema_editor):
    # Recommended λ: the middle of the paper's ranges; keyword libraries follow its examples.
    paper_categories_seed(apps.get_model("experiments", "Category"))


def create_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for name in ROLES:
        group_model.objects.get_or_create(name=name)


def drop_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("experiments", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [
        migrations.RunPython(create_categories, migrations.RunPython.noop),
        migrations.RunPython(create_groups, drop_groups),
    ]
