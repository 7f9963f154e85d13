from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_redacted_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["ship_by", "id"], name="order_ship_by_idx"),
        ),
    ]
