"""Create or drop a scratch database beside the one DATABASE_URL names.

scratch_db.py create SUFFIX   prints the URL of a fresh <name>_<SUFFIX>
scratch_db.py drop SUFFIX
"""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql


def main(action: str, suffix: str) -> None:
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"{url.path.lstrip('/') or 'postgres'}_{suffix}"
    admin = psycopg2.connect(urlunsplit(url._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if action == "create":
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    if action == "create":
        print(urlunsplit(url._replace(path=f"/{name}")))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
