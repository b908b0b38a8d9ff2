-- The transaction POST /payouts runs, in raw SQL: the ceiling the API is compared with.
--
-- Same statements, same order, same locks and the same triggers as
-- payouts.services.payout_create, minus everything around it (HTTP, auth,
-- JSON, the ORM, the on-commit enqueue). Variables given with -D:
--   mlo, mhi   the range of merchant ids to draw from (equal for the hot case)
--   acct_off   bank account id minus merchant id (the driver creates one account
--              per merchant in the same order and checks the offset is constant)

\set m random(:mlo, :mhi)
\set acct :m + :acct_off
\set amt random(100, 999)
-- The fingerprint is a constant: the API hashes the body in Python, outside the database.
-- The Idempotency-Key comes from the client, as in the API, so the lookup and the
-- insert use the same key; md5 turns (client, random) into a well-formed UUID.
\set k random(1, 4611686018427387903)

BEGIN;
SELECT id, available_paise, held_paise FROM merchants_merchant WHERE id = :m FOR NO KEY UPDATE \gset m_
SELECT fingerprint, response_status, response_body FROM payouts_idempotencyrecord
 WHERE merchant_id = :m AND key = md5(:client_id || ':' || :k)::uuid AND expires_at > now()
 ORDER BY id LIMIT 1;
\if :m_available_paise >= :amt
INSERT INTO payouts_payout (merchant_id, bank_account_id, amount_paise, reference, status, attempts,
                            attempt_deadline, next_attempt_at, bank_reference, failure_reason, created_at, updated_at)
VALUES (:m, :acct, :amt, 'PO' || upper(substr(md5(:client_id || ':' || :k || ':ref'), 1, 24)), 'pending', 0,
        NULL, NULL, '', NULL, now(), now())
RETURNING id \gset p_
INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)
VALUES (:m, 'payout', -:amt, 'Payout PO' || upper(substr(md5(:client_id || ':' || :k || ':ref'), 1, 24)), :p_id, now())
RETURNING id;
INSERT INTO payouts_payoutevent (merchant_id, payout_id, from_status, to_status, attempt, reason, created_at)
VALUES (:m, :p_id, NULL, 'pending', 0, 'payout requested; funds held', now())
RETURNING id;
INSERT INTO payouts_idempotencyrecord (merchant_id, key, fingerprint, response_status, response_body, payout_id,
                                       created_at, expires_at)
VALUES (:m, md5(:client_id || ':' || :k)::uuid,
        'fe0c5b46d1a0e6ba7c7f2c21a9ad3b7e6c8e29c1d0f4b5a6e7d8c9b0a1f2e3d4', 201,
        json_build_object('id', :p_id, 'amount_paise', :amt, 'bank_account_id', :acct, 'status', 'pending',
                          'attempts', 0, 'failure_reason', NULL, 'created_at', now(), 'updated_at', now())::text,
        :p_id, now(), now() + interval '1 day')
ON CONFLICT (merchant_id, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
    response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body,
    payout_id = EXCLUDED.payout_id, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
RETURNING id;
\else
-- Unreachable with the driver's credits; kept so the script is the whole use case.
INSERT INTO payouts_idempotencyrecord (merchant_id, key, fingerprint, response_status, response_body, payout_id,
                                       created_at, expires_at)
VALUES (:m, md5(:client_id || ':' || :k)::uuid,
        'fe0c5b46d1a0e6ba7c7f2c21a9ad3b7e6c8e29c1d0f4b5a6e7d8c9b0a1f2e3d4', 422,
        '{"error":{"code":"insufficient_funds"}}', NULL, now(), now() + interval '1 day');
\endif
COMMIT;
