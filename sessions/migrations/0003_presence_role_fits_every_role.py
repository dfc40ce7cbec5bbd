# The presence row's role held 12 characters and was written "Co-facilitator" (14):
# PostgreSQL refused it. Rows now hold the role's value; old rows held its label.

from django.db import migrations, models

LABELS = {"Facilitator": "facilitator", "Co-facilitator": "cofacilitator",
          "Participant": "participant", "Observer": "observer"}


def labels_to_values(apps, schema_editor):
    Presence = apps.get_model("live", "Presence")
    for label, value in LABELS.items():
        Presence.objects.filter(role=label).update(role=value)


class Migration(migrations.Migration):

    dependencies = [
        ("live", "0002_live_board"),
    ]

    operations = [
        migrations.AlterField(
            model_name="presence",
            name="role",
            field=models.CharField(
                choices=[("facilitator", "Facilitator"), ("cofacilitator", "Co-facilitator"),
                         ("participant", "Participant"), ("observer", "Observer")],
                max_length=20),
        ),
        migrations.RunPython(labels_to_values, migrations.RunPython.noop),
    ]
