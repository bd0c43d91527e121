from django.db import migrations


def load(apps, schema_editor):
    from wangge.cases.seed import load as load_seed

    load_seed(apps)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
