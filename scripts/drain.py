"""Drain N payouts created at once with K real consumers, default worker settings.

    .venv/bin/python scripts/drain.py --payouts 1000 --consumers 1

Uses a fresh scratch database beside DATABASE_URL (embedded PostgreSQL and
Redis when unset) and a queue of its own. Creates the payouts through
payout_create with no consumer running, starts K `manage.py run_huey`
processes with the settings' defaults (random bank outcomes: 70% settled, 20%
declined, 10% hang with 30 s timeouts, 5 s backoff, 3 attempts), and reports
the time until every payout is completed or failed, then runs check_ledger.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import stack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for all to be final")
    args = parser.parse_args()

    env = stack.embedded_env(os.environ)
    server_url = env["DATABASE_URL"]
    with (
        stack.scratch_database(server_url, f"{stack.database_name(server_url)}_drain") as database_url,
        tempfile.TemporaryDirectory(prefix="payouts-drain-") as logs,
    ):
        env.update(DATABASE_URL=database_url, HUEY_NAME=f"drain-{uuid.uuid4().hex[:8]}", DEBUG="false")
        env.update(LOG_LEVEL="WARNING")
        return drain(env, args.payouts, args.consumers, args.timeout, Path(logs))


def drain(env: dict[str, str], payouts: int, consumers: int, timeout: float, logs: Path) -> int:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(stack.BACKEND))
    stack.migrate(env)

    import django

    django.setup()
    from django.db import connections
    from huey.contrib.djhuey import HUEY

    from merchants import services as merchant_services
    from payouts import services, tasks
    from payouts.models import Payout

    merchants = [
        merchant_services.merchant_create(
            name=f"Drain {i}",
            bank_accounts=[{"holder_name": "Drain", "ifsc": "HDFC0000001", "account_number": "123456789012"}],
        )
        for i in range(10)
    ]
    for merchant in merchants:
        merchant_services.merchant_credit(merchant_id=merchant.id, amount_paise=10**12, description="opening balance")
    for i in range(payouts):
        merchant = merchants[i % len(merchants)]
        created = services.payout_create(
            merchant_id=merchant.id,
            bank_account_id=merchant.bank_account_ids[0],
            amount_paise=100 + i,
            idempotency_key=uuid.uuid4(),
            fingerprint=str(i),
        )
        if created.payout_id is not None:
            tasks.enqueue_processing(created.payout_id)
    print(f"{payouts} payouts pending, {HUEY.pending_count()} tasks queued; starting {consumers} consumer(s)")

    started = time.monotonic()
    milestones = {}
    with stack.Processes(logs, env) as processes:
        for n in range(consumers):
            processes.consumer(f"huey{n}")
        try:
            while time.monotonic() - started < timeout:
                in_flight = Payout.objects.filter(status__in=Payout.IN_FLIGHT).count()
                done = payouts - in_flight
                for share in (0.5, 0.9):
                    if share not in milestones and done >= share * payouts:
                        milestones[share] = time.monotonic() - started
                if in_flight == 0:
                    break
                time.sleep(0.25)
            elapsed = time.monotonic() - started
        finally:
            processes.stop(grace=30)
            HUEY.flush()

    statuses = {s: Payout.objects.filter(status=s).count() for s in ("completed", "failed", "pending", "processing")}
    connections.close_all()  # before the scratch database is dropped
    ledger = stack.manage(env, "check_ledger")
    print(f"consumers          {consumers}")
    print(f"all final after    {elapsed:.1f} s  ({payouts / elapsed:.1f} payouts/s overall)")
    for share, seconds in sorted(milestones.items()):
        print(f"{int(share * 100)}% final after    {seconds:.1f} s  ({share * payouts / seconds:.1f} payouts/s)")
    print(f"statuses           {statuses}")
    print(f"check_ledger       exit {ledger.returncode}: {ledger.stdout.strip().splitlines()[-1]}")
    return 0 if statuses["pending"] + statuses["processing"] == 0 and ledger.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
