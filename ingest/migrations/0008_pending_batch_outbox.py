# The outbox of accepted event batches (ingest.outbox): kept by the API, deleted by the storing worker.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ingest', '0007_unitattributes_prior_orders_sent_at'),
    ]

    operations = [
        migrations.CreateModel(
            name='PendingBatch',
            fields=[
                ('batch_id', models.UUIDField(primary_key=True, serialize=False)),
                ('payload', models.TextField()),
                ('accepted_at', models.DateTimeField()),
                ('due_at', models.DateTimeField(db_index=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
            ],
        ),
    ]
