import django.db.models.deletion
from django.db import migrations, models

# The rules PostgreSQL enforces on money by itself, whatever code or session
# writes. They make invariants 1, 2, 4 and 5 of ``ledger.audit`` hold by
# construction (the audit checks that these triggers are installed and on):
#
# 1. Ledger entries are append-only and never truncated (invariant 5).
# 2. A merchant's ``available_paise`` is the sum of its ledger and its
#    ``held_paise`` the sum of its in-flight payouts. Triggers keep both in the
#    same transaction as the rows they summarise; no statement may write them
#    directly. With the CHECKs on the merchant table this makes an overdraft
#    impossible even for a writer that forgot the lock (invariants 1, 2).
# 3. At commit, every payout has exactly one debit of its amount, and exactly
#    one reversal if and only if it failed (deferred constraint triggers;
#    invariant 4).
RULES = r"""
-- 1. Append-only, never truncated ----------------------------------------------
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION ledger_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is never truncated', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON ledger_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_truncate();

-- 2. Derived balances ------------------------------------------------------------
-- Statement-level, so a bulk load of a million entries is one UPDATE per merchant.
CREATE FUNCTION ledger_balance_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE merchants_merchant AS m
       SET available_paise = m.available_paise + s.total
      FROM (SELECT merchant_id, sum(amount_paise) AS total FROM new_entries GROUP BY merchant_id) AS s
     WHERE m.id = s.merchant_id;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_entry_apply
    AFTER INSERT ON ledger_ledgerentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balance_apply();

CREATE FUNCTION ledger_hold_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE merchants_merchant SET held_paise = held_paise + NEW.amount_paise WHERE id = NEW.merchant_id;
    ELSIF OLD.status IN ('pending', 'processing') AND NEW.status IN ('completed', 'failed') THEN
        UPDATE merchants_merchant SET held_paise = held_paise - NEW.amount_paise WHERE id = NEW.merchant_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payout_hold
    AFTER INSERT OR UPDATE OF status ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION ledger_hold_apply();

CREATE FUNCTION ledger_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.available_paise <> 0 OR NEW.held_paise <> 0 THEN
            RAISE EXCEPTION 'a merchant starts with zero balances; credit it through the ledger'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF pg_trigger_depth() < 2
          AND (NEW.available_paise <> OLD.available_paise OR NEW.held_paise <> OLD.held_paise) THEN
        RAISE EXCEPTION 'merchant balances are derived from the ledger and the payouts; write those instead'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER merchant_balance_guard
    BEFORE INSERT OR UPDATE ON merchants_merchant
    FOR EACH ROW EXECUTE FUNCTION ledger_balance_guard();

-- 3. Each payout's postings, checked at commit -------------------------------------
CREATE FUNCTION ledger_postings_check(p_payout_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    p payouts_payout%ROWTYPE;
    debits int;
    reversals int;
    strays int;
BEGIN
    SELECT * INTO p FROM payouts_payout WHERE id = p_payout_id;
    SELECT count(*) FILTER (WHERE kind = 'payout' AND amount_paise = -p.amount_paise),
           count(*) FILTER (WHERE kind = 'reversal' AND amount_paise = p.amount_paise),
           count(*) FILTER (WHERE merchant_id <> p.merchant_id
                               OR (kind = 'payout' AND amount_paise <> -p.amount_paise)
                               OR (kind = 'reversal' AND amount_paise <> p.amount_paise))
      INTO debits, reversals, strays
      FROM ledger_ledgerentry WHERE payout_id = p_payout_id;
    IF debits <> 1 OR strays <> 0 OR reversals <> (CASE WHEN p.status = 'failed' THEN 1 ELSE 0 END) THEN
        RAISE EXCEPTION 'payout % (%) must have one debit of its amount and a reversal iff failed: % debits, % reversals, % stray entries',
            p.id, p.status, debits, reversals, strays
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END $$;

CREATE FUNCTION ledger_postings_of_payout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_postings_check(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_postings_of_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_postings_check(NEW.payout_id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payout_postings
    AFTER INSERT OR UPDATE OF status ON payouts_payout
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_postings_of_payout();

CREATE CONSTRAINT TRIGGER ledger_entry_postings
    AFTER INSERT ON ledger_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.payout_id IS NOT NULL)
    EXECUTE FUNCTION ledger_postings_of_entry();
"""

RULES_REVERSE = r"""
DROP TRIGGER ledger_entry_postings ON ledger_ledgerentry;
DROP TRIGGER payout_postings ON payouts_payout;
DROP FUNCTION ledger_postings_of_entry();
DROP FUNCTION ledger_postings_of_payout();
DROP FUNCTION ledger_postings_check(bigint);
DROP TRIGGER merchant_balance_guard ON merchants_merchant;
DROP FUNCTION ledger_balance_guard();
DROP TRIGGER payout_hold ON payouts_payout;
DROP FUNCTION ledger_hold_apply();
DROP TRIGGER ledger_entry_apply ON ledger_ledgerentry;
DROP FUNCTION ledger_balance_apply();
DROP TRIGGER ledger_entry_no_truncate ON ledger_ledgerentry;
DROP TRIGGER ledger_entry_append_only ON ledger_ledgerentry;
DROP FUNCTION ledger_refuse_truncate();
DROP FUNCTION ledger_refuse_change();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("merchants", "0001_initial"),
        ("payouts", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("payment", "Payment"), ("payout", "Payout"), ("reversal", "Reversal")], max_length=10
                    ),
                ),
                ("amount_paise", models.BigIntegerField()),
                ("description", models.CharField(max_length=255)),
                ("created_at", models.DateTimeField()),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to="payouts.payout",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["merchant", "-id"], name="ledger_merchant_recent")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("amount_paise__gt", 0), ("kind", "payment"), ("payout__isnull", True)),
                            models.Q(("amount_paise__lt", 0), ("kind", "payout"), ("payout__isnull", False)),
                            models.Q(("amount_paise__gt", 0), ("kind", "reversal"), ("payout__isnull", False)),
                            _connector="OR",
                        ),
                        name="ledger_entry_kind_sign_payout",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "payout")), fields=("payout",), name="ledger_one_debit_per_payout"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "reversal")),
                        fields=("payout",),
                        name="ledger_one_reversal_per_payout",
                    ),
                ],
            },
        ),
        migrations.RunSQL(RULES, RULES_REVERSE),
    ]
