"""Seed the three categories of the paper and create the Marketer and Analyst groups.

Group permissions are (re)assigned after every migrate by abplatform.roles.role_permissions_sync,
so models added later join the roles too."""

from django.db import migrations

ROLES = ("Marketer", "Analyst")

# Recommended λ: the middle of the paper's ranges (FMCG 0.7–0.8, apparel 0.5–0.6,
# electronics 0.3–0.5); keyword libraries follow its examples.
CATEGORIES = {
    "FMCG": (0.75, ["limited edition", "fresh", "value pack", "today only", "new", "family size", "stock up",
                    "while stocks last", "natural", "bestseller"]),
    "Apparel": (0.55, ["sustainably sourced", "style", "fit", "comfort", "timeless", "breathable", "organic cotton",
                       "versatile", "tailored", "everyday"]),
    "Electronics": (0.40, ["battery life", "fast charging", "bluetooth", "lightweight", "specs", "noise cancelling",
                           "warranty", "high resolution", "long-lasting", "wireless"]),
}


def create_categories(apps, schema_editor):
    category_model = apps.get_model("experiments", "Category")
    for name, (recommended_lambda, keywords) in CATEGORIES.items():
        category_model.objects.get_or_create(
            name=name, defaults={"recommended_lambda": recommended_lambda, "keywords": keywords}
        )


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
