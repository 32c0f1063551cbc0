"""``LocalStack``: start, use, turn the knobs of, and stop the local stack from Python.

The stack runs in its own process (``server.py``), so its moto state never mixes with a
test's own ``mock_aws`` and the database administrator's password stays there. This handle
talks to it over its control endpoint.
"""

from __future__ import annotations

import atexit
import json
import selectors
import signal
import subprocess
import sys
import tempfile
import urllib.request
from typing import Any

from . import seed


class LocalStack:
    """A running local stack. Use as a context manager, or ``start()`` / ``stop()``.

    >>> with LocalStack(time_scale=1/300) as stack:
    ...     source = stack.source(db_user="alice")
    ...     credential = source.get()

    The stack stops by itself when the thread that started it ends (Linux's parent-death
    signal is per thread): start it from a thread that outlives its use, as the main thread
    or a session fixture does.
    """

    def __init__(self, *, time_scale: float = 1.0, startup_timeout: float = 90.0):
        self.time_scale = time_scale
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._log: Any = None
        self._info: dict[str, Any] = {}

    @classmethod
    def attach(cls, info: dict[str, Any]) -> LocalStack:
        """A handle on a stack started elsewhere (``local up``), from its state file."""
        stack = cls()
        stack._info = info
        return stack

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalStack:
        check_prerequisites()
        self._log = tempfile.TemporaryFile(  # noqa: SIM115 - lives as long as the stack
            mode="w+", prefix="redshift-ephemeral-stack-"
        )
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "redshift_ephemeral.local.server",
                "--die-with-parent",
                "--time-scale",
                repr(self.time_scale),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        atexit.register(self.stop)
        try:
            self._info = self._read_ready_line()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_ready_line(self) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            if not selector.select(self.startup_timeout):
                raise RuntimeError(
                    f"the local stack did not start in {self.startup_timeout} s: {self._log_tail()}"
                )
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=30)
            raise RuntimeError(f"the local stack failed to start: {self._log_tail()}")
        info: dict[str, Any] = json.loads(line)
        return info

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return str(self._log.read())[-3000:]

    def stop(self) -> None:
        """Stop the stack: PostgreSQL stops and its directory is removed. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            atexit.unregister(self.stop)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- where things are --------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return int(self._info["pid"])

    @property
    def endpoint_url(self) -> str:
        return str(self._info["endpoint_url"])

    @property
    def region(self) -> str:
        return str(self._info["region"])

    @property
    def redshift_host(self) -> str:
        """The Redshift endpoint (``redshift_endpoint.py``): what DescribeClusters and
        GetWorkgroup advertise, and the only address of the database."""
        return str(self._info["redshift_host"])

    @property
    def redshift_port(self) -> int:
        return int(self._info["redshift_port"])

    @property
    def ca_path(self) -> str:
        """The local CA that signed the endpoint's certificate: pass it as ``sslrootcert``."""
        return str(self._info["ca_path"])

    @property
    def ca_bundle_path(self) -> str:
        """certifi's roots plus the local CA: ``SSL_CERT_FILE`` for clients that trust only
        OpenSSL's default store (redshift_connector)."""
        return str(self._info["ca_bundle_path"])

    def access_keys(self, user: str = seed.READER_USER) -> tuple[str, str]:
        keys = self._info["access_keys"][user]
        return str(keys["access_key_id"]), str(keys["secret_access_key"])

    def environment(self, user: str = seed.READER_USER) -> dict[str, str]:
        """What a shell needs to use the stack (``local env``): endpoint, dummy keys of the
        IAM user ``user``, region, CA and the default cluster. ``SSL_CERT_FILE`` is the
        bundle (public roots + the local CA), so unmodified redshift_connector trusts the
        stack and other TLS clients in that shell still trust everyone else."""
        key_id, secret = self.access_keys(user)
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "REDSHIFT_EPHEMERAL_SSLROOTCERT": self.ca_path,
            "SSL_CERT_FILE": self.ca_bundle_path,
            "REDSHIFT_EPHEMERAL_CLUSTER_ID": seed.CLUSTER_ID,
        }

    def session(self, user: str = seed.READER_USER) -> Any:
        """A boto3 session as the IAM user ``user``: alice, bob, or admin (allowed everything:
        for tests that create IAM users, roles and policies through the IAM API)."""
        import boto3

        key_id, secret = self.access_keys(user)
        return boto3.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=self.region
        )

    def source(self, *, iam_user: str = seed.READER_USER, **options: Any) -> Any:
        """A ``CredentialSource`` aimed at the stack: its endpoint, its CA, the IAM user's
        keys; ``demo-cluster`` unless a target is given."""
        from ..source import CredentialSource

        if not {"cluster_id", "workgroup", "custom_domain"} & set(options):
            options["cluster_id"] = seed.CLUSTER_ID
        options.setdefault("session", self.session(iam_user))
        options.setdefault("endpoint_url", self.endpoint_url)
        options.setdefault("region", self.region)
        options.setdefault("sslrootcert", self.ca_path)
        return CredentialSource.from_options(**options)

    # -- knobs -------------------------------------------------------------------------------

    def _control(self, command: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(payload).encode() if payload is not None else b""
        request = urllib.request.Request(  # noqa: S310 - our own loopback endpoint
            f"{self.endpoint_url}/_local/{command}",
            data=data,
            method="POST",
            headers={
                "X-Local-Stack-Token": str(self._info["control_token"]),
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return result

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        """``time_scale``, ``latency_seconds``, ``throttle_rate``, ``outage``. To deny a call,
        attach an IAM policy (``session("admin").client("iam")``), as in AWS."""
        return dict(self._control("knobs", knobs)["knobs"])

    def reset(self) -> None:
        """Knobs back to defaults (time scale included), call counts to zero, and the
        throttling dice re-seeded, so a test throttles the same calls whatever ran before."""
        self._control("reset")

    def calls(self) -> dict[str, int]:
        """AWS calls received, by ``service:Operation``."""
        return {key: int(value) for key, value in self._control("state")["calls"].items()}

    def issued_passwords(self) -> list[str]:
        """Every password the emulator issued (for leak scans)."""
        return [str(p) for p in self._control("issued")["issued_passwords"]]

    def restart_postgres(self) -> None:
        """Restart the PostgreSQL server (same port and data); returns once it accepts
        connections again. Every open connection is dropped, as in a failover."""
        self._control("restart-postgres")

    def clear_issued_passwords(self) -> None:
        self._control("clear-issued")

    def create_group(self, name: str) -> None:
        """Create a database group, as the cluster administrator's ``CREATE GROUP`` would:
        DbGroups may name it from then on. It starts with no privileges."""
        self._control("create-group", {"name": name})

    def status(self) -> dict[str, Any]:
        """What scripts need (``local status --json``): endpoints, CA, region, call counts.
        No secret: neither the control token nor access keys."""
        return {
            "pid": self.pid,
            "aws_endpoint_url": self.endpoint_url,
            "region": self.region,
            "redshift_endpoint": {"host": self.redshift_host, "port": self.redshift_port},
            "ca_path": self.ca_path,
            "ca_bundle_path": self.ca_bundle_path,
            "calls": self.calls(),
        }


def check_prerequisites() -> None:
    """Fail fast, naming what to install, before spawning anything: the ``local`` extra's
    packages and PostgreSQL's server binaries."""
    from .._extras import require_installed
    from .postgres import find_bindir

    require_installed("local", "moto", "werkzeug", "trustme", "psycopg")
    find_bindir()
