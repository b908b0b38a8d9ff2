"""The sweep: lost work found again from PostgreSQL, and the lease that lets one sweeper work at a time."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone
from huey.contrib.djhuey import HUEY

from bank import gateway as bank
from conftest import payout_new
from payouts import services, tasks
from payouts.models import Payout

HANG = bank.SimulatedBank(outcome="hang")


def test_a_payout_whose_enqueue_was_lost_is_found_by_the_sweep(payout, settings):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 20
    _, payout_id = payout

    assert services.payouts_needing_work(now=timezone.now()) == []  # its task may still be queued
    later = timezone.now() + timedelta(seconds=21)
    assert services.payouts_needing_work(now=later) == [services.SweepItem(payout_id, "attempt", 1)]


def test_the_sweep_finds_overdue_checks_and_retries(payout, short_timeouts):
    _, payout_id = payout
    services.payout_process(payout_id=payout_id, gateway=HANG)
    overdue = timezone.now() + timedelta(seconds=60)

    assert services.payouts_needing_work(now=overdue) == [services.SweepItem(payout_id, "check", 1)]
    deadline = Payout.objects.get(pk=payout_id).attempt_deadline
    services.payout_check_attempt(
        payout_id=payout_id, attempt=1, gateway=HANG, now=deadline + timedelta(milliseconds=1)
    )
    assert services.payouts_needing_work(now=overdue) == [services.SweepItem(payout_id, "attempt", 2)]


def test_the_sweep_enqueues_lost_work_into_redis(payout, settings):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    _, payout_id = payout
    HUEY.flush()

    assert tasks.sweep_once() == 1

    queued = [task for task in HUEY.pending() if task.name.endswith("payout_process_task")]
    assert [task.args for task in queued] == [(payout_id,)]
    HUEY.flush()


def test_the_sweep_waits_while_the_queue_holds_a_backlog_but_not_for_ever(payout, settings, monkeypatch):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    _, payout_id = payout
    HUEY.flush()
    for _ in range(tasks.SWEEP_MAX_BACKLOG + 1):
        tasks.payout_process_task(payout_id)
    monkeypatch.setattr(tasks, "_last_sweep", time.monotonic())

    assert tasks.sweep_once() == 0  # a backlog delays the sweep...
    monkeypatch.setattr(tasks, "_last_sweep", time.monotonic() - tasks.SWEEP_MAX_DELAY_SECONDS - 1)
    assert tasks.sweep_once() == 1  # ...but never stops it
    HUEY.flush()
    assert tasks.sweep_once() == 1
    HUEY.flush()


def test_the_sweep_finds_a_lost_payout_behind_a_thousand_not_yet_due(make_merchant, owner_sql, settings):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 20
    merchant = make_merchant(credit_paise=10_000_000)
    # A thousand payouts out at the bank, older than the lost one, none due for an hour.
    owner_sql(
        "WITH p AS (INSERT INTO payouts_payout (merchant_id, bank_account_id, amount_paise, reference, status,"
        " attempts, bank_reference, created_at, updated_at)"
        " SELECT %s, %s, 100, 'BUSY' || n, 'pending', 0, '', now() - interval '1 minute', now() - interval '1 minute'"
        " FROM generate_series(1, 1000) AS n RETURNING id, amount_paise)"
        " INSERT INTO ledger_ledgerentry (merchant_id, kind, amount_paise, description, payout_id, created_at)"
        " SELECT %s, 'payout', -amount_paise, 'busy', id, now() FROM p",
        [merchant.id, merchant.bank_account_id, merchant.id],
    )
    owner_sql(
        "UPDATE payouts_payout SET status = 'processing', attempts = 1,"
        " attempt_deadline = now() + interval '1 hour' WHERE merchant_id = %s",
        [merchant.id],
    )
    lost = payout_new(merchant_id=merchant.id, bank_account_id=merchant.bank_account_id, amount_paise=500)
    soon = services.db_now() + timedelta(seconds=21)

    assert services.payouts_needing_work(now=soon) == [services.SweepItem(lost, "attempt", 1)]


def test_a_sweeper_whose_database_fails_gives_up_its_lease(payout, settings, monkeypatch):
    from django.db import OperationalError

    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    HUEY.flush()
    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    ours = "sweeper-a"
    assert tasks.sweep_round(ours) == ours  # leads and sweeps
    assert HUEY.storage.conn.get(tasks.SWEEP_LOCK_KEY) == ours.encode()

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "payouts_needing_work", database_gone)
    next_token = tasks.sweep_round(ours)

    assert next_token != ours
    assert HUEY.storage.conn.get(tasks.SWEEP_LOCK_KEY) is None  # free for a sweeper that can reach PostgreSQL
    monkeypatch.undo()
    assert tasks.sweep_round("sweeper-b") == "sweeper-b"
    assert HUEY.storage.conn.get(tasks.SWEEP_LOCK_KEY) == b"sweeper-b"
    HUEY.storage.conn.delete(tasks.SWEEP_LOCK_KEY)
    HUEY.flush()


def test_one_sweeper_holds_the_lease_at_a_time_and_a_dead_ones_lease_expires(payout, settings):
    settings.PAYOUT_SWEEP_GRACE_SECONDS = 0
    HUEY.flush()
    conn = HUEY.storage.conn
    conn.delete(tasks.SWEEP_LOCK_KEY)

    assert tasks.sweep_round("sweeper-a") == "sweeper-a"
    assert conn.get(tasks.SWEEP_LOCK_KEY) == b"sweeper-a"
    assert len(HUEY.pending()) == 1  # a swept the pending payout
    assert conn.ttl(tasks.SWEEP_LOCK_KEY) == tasks.SWEEP_EVERY_SECONDS * 2
    assert conn.exists(tasks.WORKER_HEARTBEAT_KEY) == 1

    # b finds the lease taken: it sweeps nothing, whatever is due.
    HUEY.flush()
    assert tasks.sweep_round("sweeper-b") == "sweeper-b"
    assert len(HUEY.pending()) == 0
    assert conn.get(tasks.SWEEP_LOCK_KEY) == b"sweeper-a"

    # a dies: its lease runs out by itself, and b leads from its next round.
    conn.delete(tasks.SWEEP_LOCK_KEY)  # what the expiry does after SWEEP_EVERY_SECONDS * 2
    assert tasks.sweep_round("sweeper-b") == "sweeper-b"
    assert conn.get(tasks.SWEEP_LOCK_KEY) == b"sweeper-b"
    assert len(HUEY.pending()) == 1
    conn.delete(tasks.SWEEP_LOCK_KEY)
    HUEY.flush()
