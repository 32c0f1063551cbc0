"""Show or empty the shared credential cache that creds, exec, psql, query and doctor use
(``$XDG_CACHE_HOME/redshift-ephemeral/credentials``; off with --no-shared-cache or
REDSHIFT_EPHEMERAL_SHARED_CACHE=0).

list   the cached credentials: target, login user and expiry - never a password
clear  delete every cached credential and endpoint (the next command asks AWS again)"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "clear"))
    parser.add_argument("--json", action="store_true", help="for `list`: JSON lines, for scripts")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from .. import FileStore

    store = FileStore(environ=environ)
    if args.action == "clear":
        removed = store.clear()
        print(f"removed {removed} cached credential(s) from {store.credentials_directory}")
        return 0
    entries = store.entries()
    now = datetime.now(UTC)
    if args.json:
        for entry in entries:
            document = {
                "target": entry.label,
                "user": entry.user,
                "expires_at": entry.expires_at.isoformat(),
                "operation": entry.operation,
            }
            print(json.dumps(document), file=sys.stdout)
        return 0
    if not entries:
        print(f"no cached credentials in {store.credentials_directory}")
        return 0
    rows = [("target", "user", "expires")] + [
        (
            entry.label,
            entry.user,
            f"{entry.expires_at.isoformat(timespec='seconds')} "
            f"(in {int((entry.expires_at - now).total_seconds())} s)",
        )
        for entry in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    print(f"{store.credentials_directory}:")
    for target, user, expires in rows:
        print(f"  {target:<{widths[0]}}  {user:<{widths[1]}}  {expires}")
    return 0
