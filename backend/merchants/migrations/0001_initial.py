import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import merchants.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

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
                ("name", models.CharField(default="", max_length=100)),
                ("key_hash", models.CharField(max_length=64, unique=True)),
                ("prefix", models.CharField(max_length=16)),
                ("created_at", models.DateTimeField()),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
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
        migrations.CreateModel(
            name="User",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("password", models.CharField(max_length=128, verbose_name="password")),
                ("last_login", models.DateTimeField(blank=True, null=True, verbose_name="last login")),
                (
                    "is_superuser",
                    models.BooleanField(
                        default=False,
                        help_text="Designates that this user has all permissions without explicitly assigning them.",
                        verbose_name="superuser status",
                    ),
                ),
                ("email", models.EmailField(max_length=254, unique=True)),
                (
                    "role",
                    models.CharField(
                        blank=True,
                        choices=[("owner", "Owner"), ("developer", "Developer"), ("viewer", "Viewer")],
                        max_length=16,
                        null=True,
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                ("is_staff", models.BooleanField(default=False)),
                ("date_joined", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "groups",
                    models.ManyToManyField(
                        blank=True,
                        help_text="The groups this user belongs to. A user will get all permissions granted to each of their groups.",
                        related_name="user_set",
                        related_query_name="user",
                        to="auth.group",
                        verbose_name="groups",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="users",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "user_permissions",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Specific permissions for this user.",
                        related_name="user_set",
                        related_query_name="user",
                        to="auth.permission",
                        verbose_name="user permissions",
                    ),
                ),
            ],
            managers=[
                ("objects", merchants.models.UserManager()),
            ],
        ),
        migrations.CreateModel(
            name="SecurityEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("login_succeeded", "Login Succeeded"),
                            ("login_failed", "Login Failed"),
                            ("api_key_created", "Api Key Created"),
                            ("api_key_revoked", "Api Key Revoked"),
                            ("bank_account_added", "Bank Account Added"),
                            ("bank_account_verified", "Bank Account Verified"),
                            ("bank_account_rejected", "Bank Account Rejected"),
                            ("bank_account_deactivated", "Bank Account Deactivated"),
                            ("payment_credited", "Payment Credited"),
                        ],
                        max_length=40,
                    ),
                ),
                ("email", models.CharField(blank=True, max_length=254, null=True)),
                ("client_address", models.CharField(blank=True, max_length=64, null=True)),
                ("description", models.CharField(default="", max_length=500)),
                ("created_at", models.DateTimeField()),
                (
                    "api_key",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.apikey",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="security_events",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("merchant__isnull", True), ("role__isnull", True)),
                    models.Q(("merchant__isnull", False), ("role__isnull", False)),
                    _connector="OR",
                ),
                name="user_merchant_and_role_together",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(("email", django.db.models.functions.text.Lower("email"))),
                name="user_email_lowercase",
            ),
        ),
        migrations.AddIndex(
            model_name="securityevent",
            index=models.Index(fields=["merchant", "-id"], name="security_event_merchant"),
        ),
        migrations.AddIndex(
            model_name="securityevent",
            index=models.Index(
                condition=models.Q(("kind", "login_failed")),
                fields=["email", "created_at"],
                name="security_event_failed_email",
            ),
        ),
        migrations.AddIndex(
            model_name="securityevent",
            index=models.Index(
                condition=models.Q(("kind", "login_failed")),
                fields=["client_address", "created_at"],
                name="security_event_failed_address",
            ),
        ),
    ]
