"""The benchmark steps that must go through the engine's own Python code.

Run by bench.py as a separate process with the benchmark's environment
(DATABASE_URL, REDIS_URL, HUEY_NAME, ...):

    python bench/django_side.py create-payouts COUNT [PART PARTS]
        COUNT payouts through payouts.services.payout_create, spread round-robin
        over the merchants of the database, as the API would create them: each
        one enqueues its processing task in Redis when it commits. With PART and
        PARTS, only the merchants of that share, so PARTS processes can create
        in parallel without waiting on each other's merchant locks. Prints JSON.
    python bench/django_side.py flush-huey
        Empties this HUEY_NAME's queue, schedule and keys in Redis.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from huey.contrib.djhuey import HUEY  # noqa: E402

from merchants.models import BankAccount  # noqa: E402
from payouts import services, tasks  # noqa: E402
from payouts.idempotency import request_fingerprint  # noqa: E402


def create_payouts(count: int, part: int = 0, parts: int = 1) -> dict:
    accounts = list(
        BankAccount.objects.order_by("merchant_id", "id").distinct("merchant_id").values_list("merchant_id", "id")
    )[part::parts]
    if not accounts:
        raise SystemExit("no merchants with a bank account in this database")
    started = time.monotonic()
    statuses: dict[int, int] = {}
    for n in range(count):
        merchant_id, account_id = accounts[n % len(accounts)]
        body = {"amount_paise": 100 + n % 900, "bank_account_id": account_id}
        response = services.payout_create(
            merchant_id=merchant_id,
            bank_account_id=account_id,
            amount_paise=body["amount_paise"],
            idempotency_key=uuid.uuid4(),
            fingerprint=request_fingerprint(body),
        )
        if response.payout_id is not None:
            tasks.enqueue_processing(response.payout_id)
        statuses[response.status] = statuses.get(response.status, 0) + 1
    return {"created": statuses.get(201, 0), "statuses": statuses, "seconds": time.monotonic() - started}


def flush_huey() -> dict:
    HUEY.storage.flush_all()
    # The engine's own keys (sweep lock, rate-limit windows) are prefixed with the name.
    extra = list(HUEY.storage.conn.scan_iter(f"{HUEY.name}:*"))
    if extra:
        HUEY.storage.conn.delete(*extra)
    return {"huey_name": HUEY.name, "extra_keys_deleted": len(extra)}


def main(argv: list[str]) -> int:
    if len(argv) in (3, 5) and argv[1] == "create-payouts":
        print(json.dumps(create_payouts(*(int(arg) for arg in argv[2:]))))
    elif len(argv) == 2 and argv[1] == "flush-huey":
        print(json.dumps(flush_huey()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
