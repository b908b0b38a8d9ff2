"""Create or update the application's database role: DML only, owner of nothing.

Run as the tables' owner (``DATABASE_OWNER_URL``, else ``DATABASE_URL`` when
that role is a superuser or owns the tables, as in development), after
``migrate``. The application role is:

* ``DATABASE_URL``'s role when ``DATABASE_OWNER_URL`` names another one (as in
  production and compose: the operator picks its name and password);
* otherwise ``<database>_app``, with a password derived from ``SECRET_KEY``.

It may read and write rows and nothing more: append-only tables (ledger
entries, payout events, reconciliation incidents, security events, payment
credits, the admin's log of staff actions) get SELECT and INSERT; payouts,
merchants and bank accounts SELECT, INSERT and UPDATE; the rest also DELETE. Not
being the owner or a superuser, it cannot disable a trigger, truncate a
table or set ``session_replication_role`` (CONTRACT §4, invariant 5).

``--env`` prints shell assignments that make the API and workers use the
role: ``DATABASE_OWNER_URL`` (this connection) and ``DATABASE_URL`` (the role).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shlex
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg2 import sql

APPEND_ONLY = {
    "ledger_ledgerentry",
    "payouts_payoutevent",
    "payouts_reconciliationincident",
    "merchants_securityevent",
    "merchants_paymentcredit",
    "django_admin_log",  # the admin console's record of what staff did
}
NEVER_DELETED = {"payouts_payout", "merchants_merchant", "merchants_bankaccount"}
# Permissions and groups are the admin console's, made by migrate; sessions and users are rows like any other.
READ_ONLY = {"django_migrations", "django_content_type", "auth_permission"}


def _with_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


class Command(BaseCommand):
    help = "Create or update the application's database role (DML only); --env prints the URLs to use."

    def add_arguments(self, parser):
        parser.add_argument("--env", action="store_true", help="print shell exports of both URLs")

    def handle(self, *args, env: bool, **options):
        owner_url = os.environ.get("DATABASE_OWNER_URL", "").strip()
        app_url = os.environ.get("DATABASE_URL", "").strip()
        database = connection.settings_dict["NAME"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
            me, superuser = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user"
                " AND tablename = ANY(%s)",
                [sorted(APPEND_ONLY | NEVER_DELETED)],
            )
            foreign_tables = cursor.fetchone()[0]
        if not superuser and foreign_tables:
            raise CommandError(f"{me} neither is a superuser nor owns the tables: run this as the owner")
        app_user = unquote(urlsplit(app_url).username or "") if app_url else ""
        if owner_url and app_url and app_user and app_user != me:
            role, password = app_user, unquote(urlsplit(app_url).password or "")
            app_role_ensure(database=database, role=role, password=password)
        else:
            role, password = app_role_ensure(database=database)
            owner_url = owner_url or app_url or self._url_of_this_connection()
            app_url = _with_user(owner_url, role, password)
        if env:
            self.stdout.write(f"export DATABASE_OWNER_URL={shlex.quote(owner_url)}")
            self.stdout.write(f"export DATABASE_URL={shlex.quote(app_url)}")
        else:
            self.stdout.write(f"role {role}: rows only, on database {database}")

    @staticmethod
    def _url_of_this_connection() -> str:
        db = connection.settings_dict
        host = quote(db["HOST"] or "", safe="") + (f":{db['PORT']}" if db["PORT"] else "")
        auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{host}/{quote(db['NAME'], safe='')}"


def app_role_ensure(*, database: str, role: str | None = None, password: str | None = None) -> tuple[str, str]:
    """Create or update the role with rows-only rights on ``database``; returns (role, password).

    The connection must be the owner's (or a superuser's). Without ``role``,
    it is ``<database>_app`` with a password derived from ``SECRET_KEY``.
    """
    if role is None:
        role = f"{database}_app"[:63]
        password = hmac.new(settings.SECRET_KEY.encode(), f"app-role:{role}".encode(), hashlib.sha256).hexdigest()
    ident = sql.Identifier(role)
    with transaction.atomic(), connection.cursor() as cursor:
        # One at a time: roles are shared by the whole cluster.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('payouts app_role'))")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident))
        elif row[0]:
            raise CommandError(f"role {role} is a superuser: the application must not be")
        cursor.execute(
            sql.SQL(
                "ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %s"
            ).format(ident),
            [password],
        )
        cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), ident))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
        cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(ident))
        cursor.execute(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(ident))
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cursor.fetchall():
            if table in APPEND_ONLY:
                rights = "SELECT, INSERT"
            elif table in NEVER_DELETED:
                rights = "SELECT, INSERT, UPDATE"
            elif table in READ_ONLY:
                rights = "SELECT"
            else:
                rights = "SELECT, INSERT, UPDATE, DELETE"
            cursor.execute(sql.SQL("GRANT " + rights + " ON TABLE {} TO {}").format(sql.Identifier(table), ident))
        cursor.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident))
    return role, password or ""
