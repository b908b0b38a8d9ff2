"""``migrate``, one process at a time, for containers that boot together.

Two containers starting at once would both run ``migrate``; the second could
try to create a table the first is creating. A PostgreSQL advisory lock, taken
on a connection of its own, makes them take turns: the second waits, then
finds nothing left to apply. The lock is a session lock, so a process killed
while migrating releases it with its connection.
"""

from __future__ import annotations

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

MIGRATE_LOCK = 7_250_002  # pg advisory lock id; seed uses 7_250_001


class Command(BaseCommand):
    help = "Run migrate under a PostgreSQL advisory lock, waiting for the database to accept connections first."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=60.0,
            help="Seconds to keep retrying while the database refuses connections (default 60).",
        )
        parser.add_argument("--noinput", "--no-input", action="store_true", help="Accepted for symmetry; never asks.")

    def handle(self, *args, **options):
        lock_connection = self._connect(wait=options["wait"])
        try:
            with lock_connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK])
                if not cursor.fetchone()[0]:
                    self.stdout.write("another process is migrating; waiting for it")
                    cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
                try:
                    call_command("migrate", interactive=False, verbosity=options["verbosity"])
                finally:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
        finally:
            lock_connection.close()

    def _connect(self, *, wait: float):
        deadline = time.monotonic() + wait
        told = False
        while True:
            connection = connections.create_connection(DEFAULT_DB_ALIAS)
            try:
                connection.ensure_connection()
                return connection
            except OperationalError as exc:
                connection.close()
                if time.monotonic() >= deadline:
                    raise CommandError(f"the database did not accept connections within {wait:g}s: {exc}") from exc
                if not told:
                    self.stdout.write(f"waiting up to {wait:g}s for the database to accept connections")
                    told = True
                time.sleep(1)
