import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Merchant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("is_demo", models.BooleanField(default=False)),
                ("available_paise", models.BigIntegerField(default=0)),
                ("held_paise", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("available_paise__gte", 0)), name="merchant_available_not_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("held_paise__gte", 0)), name="merchant_held_not_negative"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ApiKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_hash", models.CharField(max_length=64, unique=True)),
                ("prefix", models.CharField(max_length=12)),
                ("created_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="api_keys", to="merchants.merchant"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="BankAccount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("holder_name", models.CharField(max_length=200)),
                ("ifsc", models.CharField(max_length=11)),
                ("account_number", models.CharField(max_length=18)),
                ("created_at", models.DateTimeField()),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bank_accounts",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("id", "merchant"), name="bank_account_id_merchant"),
                    models.CheckConstraint(
                        condition=models.Q(("ifsc__regex", "^[A-Z]{4}0[A-Z0-9]{6}$")), name="bank_account_ifsc_format"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("account_number__regex", "^[0-9]{9,18}$")),
                        name="bank_account_number_format",
                    ),
                ],
            },
        ),
    ]
