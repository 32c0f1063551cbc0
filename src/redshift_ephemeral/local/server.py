"""The local stack's own process: PostgreSQL, the Redshift endpoint in front of it and the
AWS emulator, until SIGTERM or SIGINT.

Started by ``stack.LocalStack`` (foreground, dies with its parent) or ``local up``
(background). Prints one JSON line when ready. Its files live in one directory (removed at
exit): the CA and client bundle, the endpoint's key, and PostgreSQL's private directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from .._private_files import read_private, write_private
from .._processes import start_time
from .certificates import StackCertificates
from .emulator import Emulator
from .passwords import IssuedPasswords
from .postgres import PostgresServer, die_with_parent
from .redshift_endpoint import RedshiftEndpoint
from .roles import Roles
from .seed import ADMIN_USER, REGION, seed_aws, seed_database


class _QuietKeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def run(time_scale: float, state_file: Path | None, ttl_seconds: float | None) -> int:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    # Ours, traversable by the PostgreSQL account (0711); CA files inside are public.
    directory = Path(tempfile.mkdtemp(prefix="redshift-ephemeral-stack-"))
    directory.chmod(0o711)
    postgres = PostgresServer(directory / "postgres")
    # PostgreSQL dies with the thread that started it (PR_SET_PDEATHSIG is per thread), so a
    # restart runs on this long-lived thread, not on a short-lived HTTP request thread.
    owner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgres-owner")
    http = None
    endpoint = None
    emulator = None
    try:
        certificates = StackCertificates.create(directory)
        postgres.start()
        roles = Roles(postgres)
        seed_database(postgres, roles)
        passwords = IssuedPasswords()
        endpoint = RedshiftEndpoint(
            passwords, postgres.socket_path, certificates.certificate_path, certificates.key_path
        ).start()
        token = secrets.token_urlsafe(24)
        emulator = Emulator(
            DomainDispatcherApplication(create_backend_app),
            roles,
            passwords,
            endpoint_host=endpoint.host,
            endpoint_port=endpoint.port,
            control_token=token,
            restart_postgres=lambda: owner.submit(postgres.restart).result(),
            connect_as=postgres.connect_as,
        )
        emulator.knobs.update({"time_scale": time_scale})
        # Port 0: the kernel picks a free port at bind time and we read it back, so no other
        # process can take it between a probe and our bind.
        http = make_server(
            "127.0.0.1",
            0,
            emulator,
            threaded=True,
            request_handler=_QuietKeepAliveHandler,
        )
        threading.Thread(target=http.serve_forever, name="aws-emulator", daemon=True).start()
        endpoint_url = f"http://127.0.0.1:{http.server_port}"
        # The one identity made outside the API: it signs the seeding, as an account's
        # first administrator does.
        keys = seed_aws(endpoint_url, emulator.identities.create_administrator(ADMIN_USER, REGION))
        emulator.calls.clear()  # count the user's calls, not the seeding
        ready = {
            "pid": os.getpid(),
            # With the pid, who we are: a later process reusing the pid has another start.
            "process_start": start_time(os.getpid()),
            "endpoint_url": endpoint_url,
            "region": REGION,
            "redshift_host": endpoint.host,
            "redshift_port": endpoint.port,
            "ca_path": str(certificates.ca_path),
            "ca_bundle_path": str(certificates.bundle_path),
            "control_token": token,
            "access_keys": keys,
        }
        if state_file is not None:
            write_private(state_file, json.dumps(ready))
        print(json.dumps(ready), flush=True)
        stop.wait(ttl_seconds)
        return 0
    finally:
        if http is not None:
            http.shutdown()
        if emulator is not None and emulator.statements is not None:
            emulator.statements.close_all()
        if endpoint is not None:
            endpoint.stop()
        postgres.stop()
        owner.shutdown()
        shutil.rmtree(directory, ignore_errors=True)
        if state_file is not None:
            _forget_state(state_file)


def _forget_state(path: Path) -> None:
    """Remove the state file if it still describes this process (never another's)."""
    content = read_private(path)
    with contextlib.suppress(ValueError, TypeError):
        if content is not None and json.loads(content).get("pid") == os.getpid():
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redshift_ephemeral.local.server")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--state-file", type=Path)
    parser.add_argument("--ttl", type=float, help="stop by itself after this many seconds")
    parser.add_argument("--die-with-parent", action="store_true")
    args = parser.parse_args(argv)
    if args.die_with_parent:
        die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return run(args.time_scale, args.state_file, args.ttl)


if __name__ == "__main__":
    sys.exit(main())
