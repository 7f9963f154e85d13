from django.db import migrations

SEQUENCE = "colis_seq_order_number"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    Counter = apps.get_model("core", "Counter")
    row = Counter.objects.filter(name="order_number").first()
    start = (row.value + 1) if row else 1000
    schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} START WITH {int(start)}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_shop_routing_strategy")]

    operations = [migrations.RunPython(create, drop)]
