"""Write keys, events, unit totals and ingest bookkeeping move here from the experiments app; tables unchanged."""

from django.db import migrations

from abplatform.migration_ops import ModelMove


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("experiments", "0004_adaptive_allocation"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [
        ModelMove(name, from_app="experiments", db_table=f"experiments_{name.lower()}")
        for name in ("WriteKey", "Event", "UnitTotals", "IngestStats", "IngestBatch")
    ]
