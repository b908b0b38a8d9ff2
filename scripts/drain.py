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
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
PY = sys.executable


def services_env() -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        out = subprocess.run(
            [PY, str(BACKEND / "config" / "embedded.py"), "env"], capture_output=True, text=True, check=True
        ).stdout
        for line in out.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip("'")
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for all to be final")
    args = parser.parse_args()

    env = services_env()
    base_env = dict(env)
    env["DATABASE_URL"] = subprocess.run(
        [PY, str(ROOT / "scripts" / "scratch_db.py"), "create", "drain"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env.update(HUEY_NAME=f"drain-{uuid.uuid4().hex[:8]}", DEBUG="false", LOG_LEVEL="WARNING")
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(BACKEND))
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=BACKEND, env=env, check=True)

    import django

    django.setup()
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
    for i in range(args.payouts):
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
    print(f"{args.payouts} payouts pending, {HUEY.pending_count()} tasks queued; starting {args.consumers} consumer(s)")

    consumers = [
        subprocess.Popen([PY, "manage.py", "run_huey"], cwd=BACKEND, env=env, stderr=subprocess.DEVNULL)
        for _ in range(args.consumers)
    ]
    started = time.monotonic()
    milestones = {}
    try:
        while time.monotonic() - started < args.timeout:
            in_flight = Payout.objects.filter(status__in=Payout.IN_FLIGHT).count()
            done = args.payouts - in_flight
            for share in (0.5, 0.9):
                if share not in milestones and done >= share * args.payouts:
                    milestones[share] = time.monotonic() - started
            if in_flight == 0:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        for consumer in consumers:
            consumer.terminate()
        for consumer in consumers:
            consumer.wait(timeout=30)
        HUEY.flush()

    statuses = {s: Payout.objects.filter(status=s).count() for s in ("completed", "failed", "pending", "processing")}
    ledger = subprocess.run([PY, "manage.py", "check_ledger"], cwd=BACKEND, env=env, capture_output=True, text=True)
    subprocess.run([PY, str(ROOT / "scripts" / "scratch_db.py"), "drop", "drain"], env=base_env, check=False)
    print(f"consumers          {args.consumers}")
    print(f"all final after    {elapsed:.1f} s  ({args.payouts / elapsed:.1f} payouts/s overall)")
    for share, seconds in sorted(milestones.items()):
        print(f"{int(share * 100)}% final after    {seconds:.1f} s  ({share * args.payouts / seconds:.1f} payouts/s)")
    print(f"statuses           {statuses}")
    print(f"check_ledger       exit {ledger.returncode}: {ledger.stdout.strip().splitlines()[-1]}")
    return 0 if statuses["pending"] + statuses["processing"] == 0 and ledger.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
