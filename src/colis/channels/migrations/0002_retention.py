from django.db import migrations, models


def amazon_thirty_days(apps, schema_editor):
    """Amazon keeps buyer data at most 30 days after delivery: channels connected before the
    setting existed get that rule too."""
    Channel = apps.get_model("channels", "Channel")
    Channel.objects.filter(kind="amazon", retention_days__isnull=True).update(retention_days=30)


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="retention_days",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(amazon_thirty_days, migrations.RunPython.noop),
    ]
