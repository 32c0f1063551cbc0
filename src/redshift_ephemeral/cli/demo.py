"""Run the whole flow end to end on the local stack: start a real PostgreSQL server and the
AWS emulator, issue a short-lived password, connect with verify-full TLS, run the seed's
query, watch the password expire and be refused, get a fresh one, stop everything."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from datetime import UTC, datetime

TIME_SCALE = 1 / 300  # a 900 s password lasts 3 s


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-scale",
        type=float,
        default=TIME_SCALE,
        help="how fast AWS time runs (default 1/300: 900 s last 3 s)",
    )


def _step(number: int, text: str) -> None:
    print(f"\n[{number}] {text}", flush=True)


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from .. import connect_to_redshift, generate_redshift_credentials
    from ..db.connections import is_login_refused
    from ..local import LocalStack, seed
    from ..source import CredentialSource

    started = time.monotonic()
    _step(
        1,
        "Starting the local stack: a Redshift endpoint (TLS only, Redshift's MD5 login) in "
        "front of a real PostgreSQL server, and an AWS emulator speaking Redshift's own API.",
    )
    with LocalStack(time_scale=args.time_scale) as stack:
        print(
            f"    Redshift    {stack.redshift_host}:{stack.redshift_port}  (certificate from a "
            f"fresh local CA: {stack.ca_path})"
        )
        print(f"    AWS API     {stack.endpoint_url}  (region {stack.region})")
        print(
            f"    time scale  1/{round(1 / args.time_scale)}: a 900 s password lasts "
            f"{900 * args.time_scale:.0f} s"
        )

        _step(
            2,
            f"Seeded: cluster {seed.CLUSTER_ID!r}, database {seed.DATABASE!r}, table "
            f"{seed.TABLE!r} with {seed.TABLE_ROWS} rows, database user "
            f"{seed.READER_USER!r} (may read it).",
        )

        _step(
            3,
            f"generate_redshift_credentials({seed.READER_USER!r}, {seed.CLUSTER_ID!r}, 900)"
            " → redshift:DescribeClusters + redshift:GetClusterCredentials",
        )
        options = {
            "endpoint_url": stack.endpoint_url,
            "region": stack.region,
            "session": stack.session(),
            "sslrootcert": stack.ca_path,
        }
        credentials = generate_redshift_credentials(
            seed.READER_USER, seed.CLUSTER_ID, 900, **options
        )
        # The same request through a CredentialSource is served from the shared cache (no
        # AWS call) and carries the expiry the seed's dict leaves out.
        source = CredentialSource.from_options(
            cluster_id=seed.CLUSTER_ID, db_user=seed.READER_USER, **options
        )
        source_expiry = source.get().expires_at
        print(
            f"    host {credentials['host']}:{credentials['port']}  database "
            f"{credentials['dbname']}  user {credentials['user']}  password (hidden)"
        )
        print(
            f"    expires {source_expiry:%H:%M:%S} UTC, in "
            f"{(source_expiry - datetime.now(UTC)).total_seconds():.1f} s"
        )

        _step(
            4,
            f"Connecting with sslmode={credentials['sslmode']} (the server's certificate "
            "and name are checked) and running the seed's query.",
        )
        connection = connect_to_redshift(credentials)
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM my_table")  # the seed's query
            row = cursor.fetchone()
            cursor.execute("SELECT current_user")
            (user,) = cursor.fetchone() or ("?",)
            # TLS ends at the Redshift endpoint: ask the client's own side of it.
            tls_version = connection.info.ssl_attribute("protocol")
        connection.close()
        print(
            f"    SELECT COUNT(*) FROM my_table → {row[0] if row else '?'}   "  # noqa: S608
            f"(logged in as {user} over {tls_version})"
        )

        wait = (source_expiry - datetime.now(UTC)).total_seconds() + 0.5
        _step(5, f"Waiting {max(wait, 0):.1f} s for that password to expire...")
        time.sleep(max(wait, 0))
        try:
            connect_to_redshift(credentials).close()
            print("    UNEXPECTED: the expired password was accepted")
            return 1
        except Exception as error:  # the seed's psycopg2 connection raises the driver's own
            if not is_login_refused(error):
                raise
            reason = str(error).strip().splitlines()[-1]
            print(f"    the same password is now refused by the server: {reason}")

        _step(
            6,
            "A CredentialSource refreshes ahead of expiry: asking again gives a new "
            "password that works.",
        )
        fresh = source.get()
        connection = connect_to_redshift(fresh.as_seed_dict())
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        connection.close()
        print(
            f"    new password for {fresh.user}, valid until {fresh.expires_at:%H:%M:%S} UTC:"
            " connected"
        )
        print(f"    AWS calls made: {stack.calls()}")

        _step(7, "Stopping PostgreSQL and the emulator; removing their files.")
    print(f"\nDone in {time.monotonic() - started:.1f} s.")
    return 0
