from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="SimulatedTransfer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reference", models.CharField(max_length=64, unique=True)),
                ("amount_paise", models.BigIntegerField(blank=True, null=True)),
                ("ifsc", models.CharField(blank=True, default="", max_length=11)),
                ("account_number", models.CharField(blank=True, default="", max_length=18)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("settled", "Settled"),
                            ("declined", "Declined"),
                            ("lost", "Lost"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=10,
                    ),
                ),
                ("bank_reference", models.CharField(blank=True, default="", max_length=64)),
                ("reason", models.CharField(blank=True, default="", max_length=255)),
                ("requests", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
            ],
        ),
    ]
