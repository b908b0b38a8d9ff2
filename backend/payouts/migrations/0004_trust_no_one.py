"""Trust no one: cancellation before failure, bank references, incidents, and more rules in the database.

* ``payouts_payout.reference``: the reference sent to the bank, random (not
  the row id), so it is unique across environments and re-created databases.
  Payouts made before this migration keep the reference they were sent with.
* A processing payout has exactly one next step (attempt, retry or
  cancellation), and once the bank is asked to cancel, no attempt starts again
  (``payout_guard``).
* A payout's bank account belongs to its merchant: a composite foreign key.
* Ledger entries, payout events, payouts and incidents refuse TRUNCATE.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = r"""
-- A payout's bank account is one of its merchant's.
ALTER TABLE payouts_payout
    ADD CONSTRAINT payout_bank_account_of_merchant
    FOREIGN KEY (bank_account_id, merchant_id) REFERENCES payouts_bankaccount (id, merchant_id);

-- Nothing that records money or its history is ever truncated.
CREATE FUNCTION payouts_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON payouts_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();
CREATE TRIGGER payout_event_no_truncate BEFORE TRUNCATE ON payouts_payoutevent
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();
CREATE TRIGGER payout_no_truncate BEFORE TRUNCATE ON payouts_payout
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();
CREATE TRIGGER incident_no_truncate BEFORE TRUNCATE ON payouts_reconciliationincident
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();
CREATE TRIGGER incident_append_only BEFORE UPDATE OR DELETE ON payouts_reconciliationincident
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();

-- The state machine, now with the bank reference and the cancellation.
CREATE OR REPLACE FUNCTION payouts_payout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' OR NEW.attempts <> 0 OR NEW.cancel_requested_at IS NOT NULL THEN
            RAISE EXCEPTION 'a payout starts pending with no attempts' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status IN ('completed', 'failed') THEN
        RAISE EXCEPTION 'payout % is % and final: it never changes again', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> OLD.status
       AND NOT ((OLD.status = 'pending' AND NEW.status = 'processing')
             OR (OLD.status = 'processing' AND NEW.status IN ('completed', 'failed'))) THEN
        RAISE EXCEPTION 'illegal payout transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.amount_paise <> OLD.amount_paise OR NEW.merchant_id <> OLD.merchant_id
       OR NEW.bank_account_id <> OLD.bank_account_id OR NEW.created_at <> OLD.created_at
       OR NEW.reference <> OLD.reference THEN
        RAISE EXCEPTION 'a payout''s amount, merchant, bank account, reference and creation time never change'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.attempts < OLD.attempts OR NEW.cancel_requests < OLD.cancel_requests THEN
        RAISE EXCEPTION 'payout attempts never go down' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.cancel_requested_at IS NOT NULL THEN
        IF NEW.cancel_requested_at IS DISTINCT FROM OLD.cancel_requested_at THEN
            RAISE EXCEPTION 'payout %: a cancellation, once asked for, is never withdrawn', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.attempts <> OLD.attempts THEN
            RAISE EXCEPTION 'payout %: no attempt starts after the bank was asked to cancel', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END $$;
"""

BACKWARD = r"""
-- The state machine as 0002 made it (before the reference and the cancellation).
CREATE OR REPLACE FUNCTION payouts_payout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' OR NEW.attempts <> 0 THEN
            RAISE EXCEPTION 'a payout starts pending with no attempts' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status IN ('completed', 'failed') THEN
        RAISE EXCEPTION 'payout % is % and final: it never changes again', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> OLD.status
       AND NOT ((OLD.status = 'pending' AND NEW.status = 'processing')
             OR (OLD.status = 'processing' AND NEW.status IN ('completed', 'failed'))) THEN
        RAISE EXCEPTION 'illegal payout transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.amount_paise <> OLD.amount_paise OR NEW.merchant_id <> OLD.merchant_id
       OR NEW.bank_account_id <> OLD.bank_account_id OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'a payout''s amount, merchant, bank account and creation time never change'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.attempts < OLD.attempts THEN
        RAISE EXCEPTION 'payout attempts never go down' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER incident_append_only ON payouts_reconciliationincident;
DROP TRIGGER incident_no_truncate ON payouts_reconciliationincident;
DROP TRIGGER payout_no_truncate ON payouts_payout;
DROP TRIGGER payout_event_no_truncate ON payouts_payoutevent;
DROP TRIGGER ledger_entry_no_truncate ON payouts_ledgerentry;
DROP FUNCTION payouts_refuse_truncate();
ALTER TABLE payouts_payout DROP CONSTRAINT payout_bank_account_of_merchant;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0003_simulated_bank"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReconciliationIncident",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reference", models.CharField(max_length=64)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("settled_after_failure", "Settled After Failure"),
                            ("declined_after_completion", "Declined After Completion"),
                            ("amount_mismatch", "Amount Mismatch"),
                            ("account_mismatch", "Account Mismatch"),
                            ("unknown_reference", "Unknown Reference"),
                            ("not_settled_at_bank", "Not Settled At Bank"),
                        ],
                        max_length=32,
                    ),
                ),
                ("detail", models.TextField()),
                ("bank_state", models.CharField(blank=True, default="", max_length=16)),
                ("bank_amount_paise", models.BigIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name="payout",
            name="cancel_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="payout",
            name="cancel_requests",
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="payout",
            name="next_cancel_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="payout",
            name="reference",
            field=models.CharField(max_length=32, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="simulatedtransfer",
            name="account_number",
            field=models.CharField(blank=True, default="", max_length=18),
        ),
        migrations.AddField(
            model_name="simulatedtransfer",
            name="ifsc",
            field=models.CharField(blank=True, default="", max_length=11),
        ),
        migrations.AlterField(
            model_name="simulatedtransfer",
            name="amount_paise",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="simulatedtransfer",
            name="state",
            field=models.CharField(
                choices=[
                    ("settled", "Settled"),
                    ("declined", "Declined"),
                    ("lost", "Lost"),
                    ("cancelled", "Cancelled"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="bankaccount",
            constraint=models.UniqueConstraint(fields=("id", "merchant"), name="bank_account_id_merchant"),
        ),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("attempt_deadline__isnull", False),
                        ("next_attempt_at__isnull", True),
                        ("next_cancel_at__isnull", True),
                        ("status", "processing"),
                    ),
                    models.Q(
                        ("attempt_deadline__isnull", True),
                        ("next_attempt_at__isnull", False),
                        ("next_cancel_at__isnull", True),
                        ("status", "processing"),
                    ),
                    models.Q(
                        ("attempt_deadline__isnull", True),
                        ("next_attempt_at__isnull", True),
                        ("next_cancel_at__isnull", False),
                        ("status", "processing"),
                    ),
                    models.Q(
                        models.Q(("status", "processing"), _negated=True),
                        ("attempt_deadline__isnull", True),
                        ("next_attempt_at__isnull", True),
                        ("next_cancel_at__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="payout_one_next_step",
            ),
        ),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("next_cancel_at__isnull", True), ("cancel_requested_at__isnull", False), _connector="OR"
                ),
                name="payout_cancel_has_start",
            ),
        ),
        migrations.AddField(
            model_name="reconciliationincident",
            name="merchant",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="payouts.merchant",
            ),
        ),
        migrations.AddField(
            model_name="reconciliationincident",
            name="payout",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="incidents",
                to="payouts.payout",
            ),
        ),
        migrations.AddIndex(
            model_name="reconciliationincident",
            index=models.Index(fields=["-id"], name="incident_recent"),
        ),
        migrations.AddConstraint(
            model_name="reconciliationincident",
            constraint=models.UniqueConstraint(fields=("reference", "kind"), name="incident_one_per_reference_kind"),
        ),
        # Existing payouts keep the reference they were sent to the bank with.
        migrations.RunSQL(
            "ALTER TABLE payouts_payout DISABLE TRIGGER payout_guard;"
            " UPDATE payouts_payout SET reference = 'PO' || lpad(id::text, 12, '0') WHERE reference IS NULL;"
            " ALTER TABLE payouts_payout ENABLE TRIGGER payout_guard;",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="payout",
            name="reference",
            field=models.CharField(max_length=32, unique=True),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
