import django.db.models.deletion
from django.db import migrations, models

# The rules PostgreSQL enforces on payouts by itself, whatever code or session
# writes (the money side, balances and postings, is ledger/migrations/0001).
#
# 1. A payout's status only moves pending -> processing -> completed|failed, and
#    a final payout never changes again. Amount, merchant, bank account,
#    reference and creation time are immutable; attempts never go down; once
#    the bank is asked to cancel, no attempt starts again (``payout_guard``).
# 2. A payout's bank account belongs to its merchant: a composite foreign key.
# 3. Payout events and reconciliation incidents are append-only; payouts are
#    never deleted; none of the three is ever truncated.
RULES = r"""
-- 2. A payout's bank account is one of its merchant's.
ALTER TABLE payouts_payout
    ADD CONSTRAINT payout_bank_account_of_merchant
    FOREIGN KEY (bank_account_id, merchant_id) REFERENCES merchants_bankaccount (id, merchant_id);

-- 3. Append-only, never deleted, never truncated.
CREATE FUNCTION payouts_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION payouts_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER payout_event_append_only
    BEFORE UPDATE OR DELETE ON payouts_payoutevent
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();
CREATE TRIGGER payout_never_deleted
    BEFORE DELETE ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();
CREATE TRIGGER incident_append_only BEFORE UPDATE OR DELETE ON payouts_reconciliationincident
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();

CREATE TRIGGER payout_event_no_truncate BEFORE TRUNCATE ON payouts_payoutevent
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();
CREATE TRIGGER payout_no_truncate BEFORE TRUNCATE ON payouts_payout
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();
CREATE TRIGGER incident_no_truncate BEFORE TRUNCATE ON payouts_reconciliationincident
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_refuse_truncate();

-- 1. The state machine.
CREATE FUNCTION payouts_payout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER payout_guard
    BEFORE INSERT OR UPDATE ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION payouts_payout_guard();
"""

RULES_REVERSE = r"""
DROP TRIGGER payout_guard ON payouts_payout;
DROP FUNCTION payouts_payout_guard();
DROP TRIGGER incident_no_truncate ON payouts_reconciliationincident;
DROP TRIGGER payout_no_truncate ON payouts_payout;
DROP TRIGGER payout_event_no_truncate ON payouts_payoutevent;
DROP TRIGGER incident_append_only ON payouts_reconciliationincident;
DROP TRIGGER payout_never_deleted ON payouts_payout;
DROP TRIGGER payout_event_append_only ON payouts_payoutevent;
DROP FUNCTION payouts_refuse_truncate();
DROP FUNCTION payouts_refuse_change();
ALTER TABLE payouts_payout DROP CONSTRAINT payout_bank_account_of_merchant;
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("merchants", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Payout",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount_paise", models.BigIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("processing", "Processing"),
                            ("completed", "Completed"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("reference", models.CharField(max_length=32, unique=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("attempt_deadline", models.DateTimeField(blank=True, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("cancel_requested_at", models.DateTimeField(blank=True, null=True)),
                ("next_cancel_at", models.DateTimeField(blank=True, null=True)),
                ("cancel_requests", models.PositiveSmallIntegerField(db_default=0, default=0)),
                ("bank_reference", models.CharField(blank=True, default="", max_length=64)),
                ("failure_reason", models.TextField(blank=True, null=True)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                (
                    "bank_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="payouts", to="merchants.bankaccount"
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="payouts", to="merchants.merchant"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.UUIDField()),
                ("fingerprint", models.CharField(max_length=64)),
                ("response_status", models.PositiveSmallIntegerField()),
                ("response_body", models.TextField()),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="merchants.merchant"
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payouts.payout",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="PayoutEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("from_status", models.CharField(blank=True, max_length=10, null=True)),
                ("to_status", models.CharField(max_length=10)),
                ("attempt", models.PositiveSmallIntegerField()),
                ("reason", models.CharField(max_length=255)),
                ("created_at", models.DateTimeField()),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="merchants.merchant"
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="events", to="payouts.payout"
                    ),
                ),
            ],
        ),
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
                (
                    "merchant",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="payouts.payout",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="payout",
            index=models.Index(fields=["merchant", "-id"], name="payout_merchant_recent"),
        ),
        migrations.AddIndex(
            model_name="payout",
            index=models.Index(fields=["merchant", "status", "-id"], name="payout_merchant_status_recent"),
        ),
        migrations.AddIndex(
            model_name="payout",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "processing"])),
                fields=["status", "updated_at"],
                name="payout_in_flight",
            ),
        ),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_paise__gt", 0)), name="payout_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "processing", "completed", "failed"])),
                name="payout_status_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("failure_reason__isnull", False), ("status", "failed")),
                    models.Q(("status", "failed"), _negated=True),
                    _connector="OR",
                ),
                name="payout_failed_has_reason",
            ),
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
        migrations.AddIndex(
            model_name="idempotencyrecord",
            index=models.Index(fields=["expires_at"], name="idempotency_expiry"),
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(fields=("merchant", "key"), name="idempotency_one_per_merchant_key"),
        ),
        migrations.AddIndex(
            model_name="payoutevent",
            index=models.Index(fields=["payout", "id"], name="payout_event_timeline"),
        ),
        migrations.AddIndex(
            model_name="reconciliationincident",
            index=models.Index(fields=["-id"], name="incident_recent"),
        ),
        migrations.AddConstraint(
            model_name="reconciliationincident",
            constraint=models.UniqueConstraint(fields=("reference", "kind"), name="incident_one_per_reference_kind"),
        ),
        migrations.RunSQL(RULES, RULES_REVERSE),
    ]
