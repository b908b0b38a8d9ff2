"""The benchmark steps that must go through the engine's own Python code.

Run by bench.py as a separate process with the benchmark's environment
(DATABASE_URL, REDIS_URL, HUEY_NAME, ...):

    python bench/django_side.py create-payouts COUNT [PART PARTS]
        COUNT payouts through payouts.services.payout_create, spread round-robin
        over the merchants of the database, as the API would create them: each
        one enqueues its processing task in Redis when it commits. With PART and
        PARTS, only the merchants of that share, so PARTS processes can create
        in parallel without waiting on each other's merchant locks. Prints JSON.
    python bench/django_side.py paced-payouts MERCHANT_ID ACCOUNT_ID RATE SECONDS
        RATE payouts a second for SECONDS seconds to one merchant's account,
        each at its own tick (never catching up in a burst), each enqueued on
        commit as the API does. Prints JSON with the payout ids and how far
        behind its tick the slowest one started.
    python bench/django_side.py webhook-endpoint MERCHANT_ID URL [EVENT_TYPE,...]
        Registers a webhook endpoint (for these event types, else every one)
        through webhooks.services.endpoint_create. Prints JSON {"id", "secret"}.
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


def paced_payouts(merchant_id: int, account_id: int, rate: int, seconds: int) -> dict:
    started = time.monotonic()
    ids: list[int] = []
    behind = 0.0
    for n in range(rate * seconds):
        tick = started + n / rate
        now = time.monotonic()
        if now < tick:
            time.sleep(tick - now)
        else:
            behind = max(behind, now - tick)
        body = {"amount_paise": 100 + n % 900, "bank_account_id": account_id}
        response = services.payout_create(
            merchant_id=merchant_id,
            bank_account_id=account_id,
            amount_paise=body["amount_paise"],
            idempotency_key=uuid.uuid4(),
            fingerprint=request_fingerprint(body),
        )
        if response.payout_id is None:
            raise SystemExit(f"payout {n} was refused: {response.status} {response.body}")
        tasks.enqueue_processing(response.payout_id)
        ids.append(response.payout_id)
    return {"payout_ids": ids, "seconds": time.monotonic() - started, "max_behind_seconds": round(behind, 4)}


def webhook_endpoint(merchant_id: int, url: str, events: str = "") -> dict:
    from webhooks import services as webhooks

    created = webhooks.endpoint_create(
        merchant_id=merchant_id, url=url, enabled_events=events.split(",") if events else None
    )
    return {"id": created.endpoint.pk, "secret": created.secret}


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
    elif len(argv) == 6 and argv[1] == "paced-payouts":
        print(json.dumps(paced_payouts(*(int(arg) for arg in argv[2:]))))
    elif len(argv) in (4, 5) and argv[1] == "webhook-endpoint":
        print(json.dumps(webhook_endpoint(int(argv[2]), *argv[3:])))
    elif len(argv) == 2 and argv[1] == "flush-huey":
        print(json.dumps(flush_huey()))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
