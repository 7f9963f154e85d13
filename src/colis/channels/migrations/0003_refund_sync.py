from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0002_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="refund_sync",
            field=models.BooleanField(default=False),
        ),
    ]
