"""The rules PostgreSQL enforces by itself, whatever code or session writes.

1. Ledger entries and payout events are append-only.
2. A merchant's ``available_paise`` is the sum of its ledger and its
   ``held_paise`` the sum of its in-flight payouts. Triggers keep both in the
   same transaction as the rows they summarise; no statement may write them
   directly. With the CHECKs on the merchant table this makes an overdraft
   impossible even for a writer that forgot the lock.
3. A payout's status only moves pending → processing → completed|failed, and
   a final payout never changes again. Amount, merchant and bank account are
   immutable; payouts are never deleted.
4. At commit, every payout has exactly one debit of its amount, and exactly
   one reversal if and only if it failed (deferred constraint triggers).
"""

from django.db import migrations

FORWARD = r"""
-- 1. Append-only tables -------------------------------------------------------
CREATE FUNCTION payouts_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON payouts_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();

CREATE TRIGGER payout_event_append_only
    BEFORE UPDATE OR DELETE ON payouts_payoutevent
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();

CREATE TRIGGER payout_never_deleted
    BEFORE DELETE ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();

-- 2. Derived balances ------------------------------------------------------------
-- Statement-level, so a bulk load of a million entries is one UPDATE per merchant.
CREATE FUNCTION payouts_ledger_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE payouts_merchant AS m
       SET available_paise = m.available_paise + s.total
      FROM (SELECT merchant_id, sum(amount_paise) AS total FROM new_entries GROUP BY merchant_id) AS s
     WHERE m.id = s.merchant_id;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_entry_apply
    AFTER INSERT ON payouts_ledgerentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION payouts_ledger_apply();

CREATE FUNCTION payouts_payout_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE payouts_merchant SET held_paise = held_paise + NEW.amount_paise WHERE id = NEW.merchant_id;
    ELSIF OLD.status IN ('pending', 'processing') AND NEW.status IN ('completed', 'failed') THEN
        UPDATE payouts_merchant SET held_paise = held_paise - NEW.amount_paise WHERE id = NEW.merchant_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payout_hold
    AFTER INSERT OR UPDATE OF status ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION payouts_payout_hold();

CREATE FUNCTION payouts_merchant_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
    BEFORE INSERT OR UPDATE ON payouts_merchant
    FOR EACH ROW EXECUTE FUNCTION payouts_merchant_guard();

-- 3. The payout state machine ---------------------------------------------------
CREATE FUNCTION payouts_payout_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER payout_guard
    BEFORE INSERT OR UPDATE ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION payouts_payout_guard();

-- 4. Each payout's postings, checked at commit -------------------------------------
CREATE FUNCTION payouts_check_postings(p_payout_id bigint) RETURNS void LANGUAGE plpgsql AS $$
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
      FROM payouts_ledgerentry WHERE payout_id = p_payout_id;
    IF debits <> 1 OR strays <> 0 OR reversals <> (CASE WHEN p.status = 'failed' THEN 1 ELSE 0 END) THEN
        RAISE EXCEPTION 'payout % (%) must have one debit of its amount and a reversal iff failed: % debits, % reversals, % stray entries',
            p.id, p.status, debits, reversals, strays
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END $$;

CREATE FUNCTION payouts_payout_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payouts_check_postings(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION payouts_entry_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM payouts_check_postings(NEW.payout_id);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payout_postings
    AFTER INSERT OR UPDATE OF status ON payouts_payout
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payouts_payout_postings();

CREATE CONSTRAINT TRIGGER ledger_entry_postings
    AFTER INSERT ON payouts_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.payout_id IS NOT NULL)
    EXECUTE FUNCTION payouts_entry_postings();
"""

BACKWARD = r"""
DROP TRIGGER ledger_entry_postings ON payouts_ledgerentry;
DROP TRIGGER payout_postings ON payouts_payout;
DROP FUNCTION payouts_entry_postings();
DROP FUNCTION payouts_payout_postings();
DROP FUNCTION payouts_check_postings(bigint);
DROP TRIGGER payout_guard ON payouts_payout;
DROP FUNCTION payouts_payout_guard();
DROP TRIGGER merchant_balance_guard ON payouts_merchant;
DROP FUNCTION payouts_merchant_guard();
DROP TRIGGER payout_hold ON payouts_payout;
DROP FUNCTION payouts_payout_hold();
DROP TRIGGER ledger_entry_apply ON payouts_ledgerentry;
DROP FUNCTION payouts_ledger_apply();
DROP TRIGGER payout_never_deleted ON payouts_payout;
DROP TRIGGER payout_event_append_only ON payouts_payoutevent;
DROP TRIGGER ledger_entry_append_only ON payouts_ledgerentry;
DROP FUNCTION payouts_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
