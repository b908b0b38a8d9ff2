"""Bank accounts are verified by the bank, and their numbers are no longer stored in clear.

Existing accounts (made by ``seed`` and ``create_merchant``, which the bank
knows) become ``verified`` with the holder's name as the registered one; each
number is encrypted with ``BANK_ACCOUNT_ENCRYPTION_KEY`` and the clear column
is dropped. The trigger refuses every transition but the allowed ones, any
change of the account's details, and any delete.
"""

from django.db import migrations, models

from merchants.account_numbers import account_number_encrypt

GUARD = r"""
CREATE FUNCTION merchants_bank_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'bank account % is never deleted: deactivate it', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status NOT IN ('pending_verification', 'verified') THEN
            RAISE EXCEPTION 'a bank account starts pending verification (or verified, when the bank knows it)'
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status <> OLD.status
       AND NOT ((OLD.status = 'pending_verification' AND NEW.status IN ('verified', 'rejected', 'deactivated'))
             OR (OLD.status = 'verified' AND NEW.status = 'deactivated')) THEN
        RAISE EXCEPTION 'illegal bank account transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.merchant_id <> OLD.merchant_id OR NEW.holder_name <> OLD.holder_name OR NEW.ifsc <> OLD.ifsc
       OR NEW.account_last4 <> OLD.account_last4 OR NEW.created_at <> OLD.created_at
       OR NEW.registered_name IS DISTINCT FROM OLD.registered_name AND OLD.status <> 'pending_verification'
       OR NEW.rejection_reason IS DISTINCT FROM OLD.rejection_reason AND OLD.status <> 'pending_verification'
       OR NEW.decided_at IS DISTINCT FROM OLD.decided_at AND OLD.status <> 'pending_verification' THEN
        RAISE EXCEPTION 'bank account %: its details and the bank''s decision never change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER bank_account_guard
    BEFORE INSERT OR UPDATE OR DELETE ON merchants_bankaccount
    FOR EACH ROW EXECUTE FUNCTION merchants_bank_account_guard();
"""

GUARD_REVERSE = r"""
DROP TRIGGER bank_account_guard ON merchants_bankaccount;
DROP FUNCTION merchants_bank_account_guard();
"""


def encrypt_existing(apps, schema_editor):
    BankAccount = apps.get_model("merchants", "BankAccount")
    for account in BankAccount.objects.all().order_by("id"):
        account.account_number_encrypted = account_number_encrypt(account.account_number)
        account.account_last4 = account.account_number[-4:]
        account.status = "verified"
        account.registered_name = account.holder_name.upper()
        account.decided_at = account.created_at
        account.save(
            update_fields=["account_number_encrypted", "account_last4", "status", "registered_name", "decided_at"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0002_payment_credit"),
    ]

    operations = [
        migrations.AddField(
            model_name="bankaccount",
            name="account_number_encrypted",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="account_last4",
            field=models.CharField(default="", max_length=4),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending_verification", "Pending Verification"),
                    ("verified", "Verified"),
                    ("rejected", "Rejected"),
                    ("deactivated", "Deactivated"),
                ],
                default="pending_verification",
                max_length=24,
            ),
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="registered_name",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="rejection_reason",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="deactivated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="verification_requests",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="bankaccount",
            name="next_verification_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=False),
        migrations.RemoveConstraint(model_name="bankaccount", name="bank_account_number_format"),
        migrations.RemoveField(model_name="bankaccount", name="account_number"),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("account_last4__regex", "^[0-9]{4}$")), name="bank_account_last4_format"
            ),
        ),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("account_number_encrypted__startswith", "gAAAAA")),
                name="bank_account_number_encrypted",
            ),
        ),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending_verification", "verified", "rejected", "deactivated"])),
                name="bank_account_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "verified"), _negated=True),
                    models.Q(("decided_at__isnull", False), ("registered_name__isnull", False)),
                    _connector="OR",
                ),
                name="bank_account_verified_has_registered_name",
            ),
        ),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "rejected"), _negated=True),
                    models.Q(("decided_at__isnull", False), ("rejection_reason__isnull", False)),
                    _connector="OR",
                ),
                name="bank_account_rejected_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("deactivated_at__isnull", False), ("status", "deactivated")),
                    models.Q(models.Q(("status", "deactivated"), _negated=True), ("deactivated_at__isnull", True)),
                    _connector="OR",
                ),
                name="bank_account_deactivated_at_when_deactivated",
            ),
        ),
        migrations.AddIndex(
            model_name="bankaccount",
            index=models.Index(
                condition=models.Q(("status", "pending_verification")),
                fields=["next_verification_at"],
                name="bank_account_pending",
            ),
        ),
        migrations.RunSQL(GUARD, GUARD_REVERSE),
    ]
