"""Categories, brand guidelines and products move here from the experiments app; tables unchanged."""

from django.db import migrations

from abplatform.migration_ops import ModelMove


class Migration(migrations.Migration):
    initial = True
    # Every migration that refers to these models by their old app must run first.
    dependencies = [
        ("experiments", "0004_adaptive_allocation"),
        ("generator", "0002_adapter"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        ModelMove("Category", from_app="experiments", db_table="experiments_category"),
        ModelMove("BrandGuideline", from_app="experiments", db_table="experiments_brandguideline"),
        ModelMove("Product", from_app="experiments", db_table="experiments_product"),
    ]
