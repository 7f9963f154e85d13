from django.db import migrations


def seed(apps, schema_editor):
    from colis.shipping.seed import carriers_apply

    carriers_apply(apps.get_model("shipping", "Carrier"))


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
