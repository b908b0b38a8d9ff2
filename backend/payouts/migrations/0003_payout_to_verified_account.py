"""A payout is created only to a verified bank account: the database refuses the others.

The API checks the account's status first (in the statement that already
checks it is the merchant's) to say why; this trigger makes it true for
every path. No row lock: a payout that read ``verified`` is ordered before a
deactivation that commits at the same moment, and goes ahead like any payout
in flight when its account is deactivated (EXPLAINER.md).
"""

from django.db import migrations

GUARD = r"""
CREATE FUNCTION payouts_payout_to_verified_account() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_status text;
BEGIN
    SELECT status INTO account_status FROM merchants_bankaccount
     WHERE id = NEW.bank_account_id AND merchant_id = NEW.merchant_id;
    -- Not found: not the merchant's account, which the composite foreign key refuses.
    IF FOUND AND account_status <> 'verified' THEN
        RAISE EXCEPTION 'bank account % is %, not verified: no payout goes to it',
              NEW.bank_account_id, account_status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payout_bank_account_verified';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payout_bank_account_verified
    BEFORE INSERT ON payouts_payout
    FOR EACH ROW EXECUTE FUNCTION payouts_payout_to_verified_account();
"""

GUARD_REVERSE = r"""
DROP TRIGGER payout_bank_account_verified ON payouts_payout;
DROP FUNCTION payouts_payout_to_verified_account();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0002_integrator_fields"),
        ("merchants", "0003_bank_account_verification"),
    ]

    operations = [migrations.RunSQL(GUARD, GUARD_REVERSE)]
