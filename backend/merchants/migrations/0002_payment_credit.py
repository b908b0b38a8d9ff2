"""Money in: every customer payment credited under its reference (CONTRACT §7).

What PostgreSQL refuses, whatever code or session writes:

* a second credit for a reference (the unique index: one payment credits once);
* UPDATE, DELETE or TRUNCATE of a credit (append-only, like the ledger;
  ``ledger_refuse_change`` and ``ledger_refuse_truncate`` of ledger 0001);
* a credit whose ledger entry is not a ``payment`` of the same merchant and
  amount.

Payments credited before this migration get a reference ``ledger_<entry id>``,
so every ``payment`` entry has its credit row.
"""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = r"""
INSERT INTO merchants_paymentcredit (merchant_id, reference, amount_paise, description, ledger_entry_id, created_at)
SELECT merchant_id, 'ledger_' || id, amount_paise, description, id, created_at
  FROM ledger_ledgerentry
 WHERE kind = 'payment'
 ORDER BY id;
"""

RULES = r"""
CREATE TRIGGER payment_credit_append_only
    BEFORE UPDATE OR DELETE ON merchants_paymentcredit
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER payment_credit_no_truncate BEFORE TRUNCATE ON merchants_paymentcredit
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();

CREATE FUNCTION payment_credit_matches_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM ledger_ledgerentry
         WHERE id = NEW.ledger_entry_id AND kind = 'payment'
           AND merchant_id = NEW.merchant_id AND amount_paise = NEW.amount_paise
    ) THEN
        RAISE EXCEPTION 'payment credit % must be a payment entry of its merchant and amount', NEW.reference
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payment_credit_matches_entry
    BEFORE INSERT ON merchants_paymentcredit
    FOR EACH ROW EXECUTE FUNCTION payment_credit_matches_entry();
"""

RULES_REVERSE = r"""
DROP TRIGGER payment_credit_matches_entry ON merchants_paymentcredit;
DROP FUNCTION payment_credit_matches_entry();
DROP TRIGGER payment_credit_no_truncate ON merchants_paymentcredit;
DROP TRIGGER payment_credit_append_only ON merchants_paymentcredit;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_filter_indexes"),
        ("merchants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PaymentCredit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reference", models.CharField(max_length=64, unique=True)),
                ("amount_paise", models.BigIntegerField()),
                ("description", models.CharField(max_length=255)),
                ("created_at", models.DateTimeField()),
                (
                    "ledger_entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_credit",
                        to="ledger.ledgerentry",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_credits",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["merchant", "-id"], name="payment_credit_merchant")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_paise__gt", 0)), name="payment_credit_amount_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reference__regex", "^[A-Za-z0-9_.:/-]{1,64}$")),
                        name="payment_credit_reference_format",
                    ),
                ],
            },
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(RULES, RULES_REVERSE),
    ]
