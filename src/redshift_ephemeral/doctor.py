"""Diagnose the whole path from AWS identity to a query, one check at a time: AWS identity,
endpoint discovery, permission for the credential call, DNS, TCP, TLS verification, login
with ``SELECT 1``, and clock skew against the server; for the Data API driver, the AWS
identity, one statement through redshift-data and the clock. A check whose prerequisite
failed is skipped, so the first failure is the one to fix."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from .aws.issuers import issuer_for
from .aws.policy import uses_discovery
from .credentials import Credential
from .db.connections import connect
from .db.drivers import Driver, default_driver
from .errors import AccessDeniedError, DatabaseConnectionError, RedshiftEphemeralError
from .file_store import FileStore
from .source import CredentialSource
from .targets import Endpoint
from .tls import VERIFYING_MODES, redshift_connector_trust

MAX_CLOCK_SKEW_SECONDS = 60.0
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool | None  # None: skipped because an earlier check failed
    detail: str
    fix: str = ""
    # What kind of failure it is: the library error that names it (a network, TLS or clock
    # failure is a DatabaseConnectionError). None unless ok is False.
    kind: type[RedshiftEphemeralError] | None = None


def _failure(name: str, error: BaseException, fix: str = "") -> CheckResult:
    kind = type(error) if isinstance(error, RedshiftEphemeralError) else DatabaseConnectionError
    return CheckResult(
        name,
        False,
        str(error).strip().splitlines()[0] if str(error) else type(error).__name__,
        fix,
        kind,
    )


def tls_handshake(
    host: str,
    port: int,
    sslmode: str,
    sslrootcert: str | None,
    timeout: float = 10.0,
    *,
    address: str | None = None,
) -> str:
    """PostgreSQL's SSLRequest, then a TLS handshake verified as ``sslmode`` says - at
    ``address`` when given (a connect address, as libpq's hostaddr), the certificate checked
    against ``host`` either way. Returns the TLS version; raises on any failure."""
    context = ssl.create_default_context(cafile=sslrootcert)
    if sslmode not in VERIFYING_MODES:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif sslmode == "verify-ca":
        context.check_hostname = False
    with socket.create_connection((address or host, port), timeout=timeout) as raw:
        raw.sendall(SSL_REQUEST)
        if raw.recv(1) != b"S":
            raise ConnectionError("the server does not offer TLS")
        with context.wrap_socket(raw, server_hostname=host) as secure:
            return str(secure.version())


class _Diagnosis:
    """The state the checks share: what earlier checks found."""

    def __init__(
        self, source: CredentialSource, driver: Driver | None, now: Callable[[], datetime]
    ):
        self.source = source
        self.driver = driver
        self.now = now
        self.issuer = issuer_for(source.identity)
        self.endpoint: Endpoint | None = None
        self.credential: Credential | None = None

    # Each check returns its result; ``needs`` (below) says which earlier checks must pass.

    def aws_identity(self) -> CheckResult:
        try:
            caller = self.issuer.caller_identity(self.source.request.target)
        except Exception as error:
            return _failure("AWS identity", error, "log in to AWS (aws sso login / aws configure)")
        return CheckResult("AWS identity", True, f"{caller.arn} (account {caller.account})")

    def endpoint_discovery(self) -> CheckResult:
        try:
            self.endpoint = self.issuer.endpoint(self.source.request.target)
        except Exception as error:
            return _failure(
                "endpoint", error, "check the name, --region and the Describe permission"
            )
        how = "discovered" if uses_discovery(self.source.request) else "given (no discovery)"
        return CheckResult("endpoint", True, f"{self.endpoint.host}:{self.endpoint.port} {how}")

    def permission(self) -> CheckResult:
        """A real credential call, even when a cache holds one: it issues a password (and
        caches it in place of the one held)."""
        action = self.source.request.operation.action
        try:
            self.source.invalidate()
            self.credential = self.source.get()
        except AccessDeniedError as error:
            return _failure(
                "permission",
                error,
                "attach the policy `redshift-ephemeral policy` prints for this target",
            )
        except Exception as error:
            return _failure("permission", error)
        return CheckResult(
            "permission", True, f"{action} allowed; login user {self.credential.user}"
        )

    def shared_cache(self) -> CheckResult:
        """Whether credentials are shared with this user's other processes, and where."""
        store = self.source.cache.store
        if store is None:
            return CheckResult("shared cache", True, "off: credentials stay in each process")
        problem = store.problem() if isinstance(store, FileStore) else None
        if problem is not None:
            return CheckResult(
                "shared cache",
                True,
                f"unusable, so each process asks AWS itself: {problem}",
            )
        where = getattr(store, "credentials_directory", store)
        cached = self.source.cache.peek(self.source.key)
        held = (
            f"this target's password expires in {cached.seconds_left(self.now()):.0f} s"
            if cached is not None
            else "nothing cached for this target"
        )
        return CheckResult("shared cache", True, f"on, {where}: {held}")

    def _route(self) -> tuple[str | None, int]:
        """The connect address (None: the host name's own) and the port connected to."""
        assert self.endpoint is not None
        given = self.source.request.target.connect_address
        if given is None:
            return None, self.endpoint.port
        return given.address, given.port or self.endpoint.port

    def dns(self) -> CheckResult:
        assert self.endpoint is not None
        host, port = self.endpoint.host, self.endpoint.port
        address, _ = self._route()
        if address is not None:
            return CheckResult(
                "DNS",
                True,
                f"not looked up: connect address {address} given; the certificate is checked "
                f"against {host}",
            )
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            return _failure("DNS", error, "check the hostname and your DNS (VPC, VPN, /etc/hosts)")
        addresses = sorted({str(info[4][0]) for info in infos})
        return CheckResult("DNS", True, f"{host} → {', '.join(addresses)}")

    def tcp(self) -> CheckResult:
        assert self.endpoint is not None
        address, port = self._route()
        host = address or self.endpoint.host
        try:
            socket.create_connection((host, port), timeout=10).close()
        except OSError as error:
            return _failure(
                "TCP",
                error,
                "check security groups, routes, your tunnel, and that the cluster is running",
            )
        return CheckResult("TCP", True, f"{host}:{port} accepts connections")

    def tls(self) -> CheckResult:
        assert self.endpoint is not None
        roots = self.source.tls.root_certificate()
        sslmode = self.source.tls.sslmode
        address, port = self._route()
        try:
            version = tls_handshake(self.endpoint.host, port, sslmode, roots, address=address)
        except (OSError, ssl.SSLError) as error:
            return _failure(
                "TLS",
                error,
                "pass the CA that signed the server's certificate "
                "with --sslrootcert, and connect by the name on the certificate",
            )
        detail = f"{version}, certificate verified ({sslmode}, roots {roots})"
        if address is not None and sslmode == "verify-full":
            detail += f" for {self.endpoint.host}, reached at {address}:{port}"
        if (self.driver or default_driver()) == "redshift_connector":
            detail += f"; note: redshift_connector itself trusts {redshift_connector_trust()}"
        return CheckResult("TLS", True, detail)

    def login_and_clock(self) -> Iterator[CheckResult]:
        assert self.credential is not None
        try:
            connection = connect(self.source, driver=self.driver)
        except Exception as error:
            yield _failure("login", error)
            yield CheckResult("clock", None, "skipped: login failed")
            return
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1, now()")
            row = cursor.fetchone()
            local = self.now()
        finally:
            connection.close()
        yield CheckResult(
            "login", True, f"logged in as {self.credential.user}; SELECT 1 → {row[0]}"
        )
        yield _clock(row[1], local)

    def data_api(self) -> Iterator[CheckResult]:
        """The Data API path (``--driver data_api``): no endpoint, network or password to
        check - one statement through redshift-data, as the driver runs it."""
        try:
            connection = connect(self.source, driver="data_api")
            cursor = connection.cursor()
            cursor.execute("SELECT 1, now(), current_user")
            row = cursor.fetchone()
            local = self.now()
            connection.close()
        except AccessDeniedError as error:
            yield _failure(
                "Data API",
                error,
                "attach the policy `redshift-ephemeral policy --data-api` prints for this target",
            )
            yield CheckResult("clock", None, "skipped: Data API did not pass")
            return
        except Exception as error:
            yield _failure("Data API", error)
            yield CheckResult("clock", None, "skipped: Data API did not pass")
            return
        assert row is not None
        yield CheckResult(
            "Data API", True, f"SELECT 1 → {row[0]} over redshift-data as {row[2]}, no password"
        )
        yield _clock(row[1], local)


def _clock(server_time: datetime, local: datetime) -> CheckResult:
    if server_time.tzinfo is None:
        server_time = server_time.replace(tzinfo=UTC)
    skew = (server_time - local).total_seconds()
    if abs(skew) <= MAX_CLOCK_SKEW_SECONDS:
        return CheckResult("clock", True, f"skew against the server {skew:+.1f} s")
    return CheckResult(
        "clock",
        False,
        f"skew against the server {skew:+.1f} s",
        "synchronise this machine's clock (chrony, systemd-timesyncd)",
        DatabaseConnectionError,
    )


def run_checks(
    source: CredentialSource,
    *,
    driver: Driver | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Iterator[CheckResult]:
    """Yield one result per check, in order. A check runs only if the checks it needs
    passed; otherwise it is reported as skipped, naming the failed one."""
    diagnosis = _Diagnosis(source, driver, now)
    if driver == "data_api":
        identity = diagnosis.aws_identity()
        yield identity
        if identity.ok:
            yield from diagnosis.data_api()
        else:
            for name in ("Data API", "clock"):
                yield CheckResult(name, None, "skipped: AWS identity did not pass")
        return
    checks: list[tuple[str, Callable[[], CheckResult], tuple[str, ...]]] = [
        ("AWS identity", diagnosis.aws_identity, ()),
        ("endpoint", diagnosis.endpoint_discovery, ("AWS identity",)),
        ("permission", diagnosis.permission, ("endpoint",)),
        ("shared cache", diagnosis.shared_cache, ()),
        ("DNS", diagnosis.dns, ("endpoint",)),
        ("TCP", diagnosis.tcp, ("DNS",)),
        ("TLS", diagnosis.tls, ("TCP",)),
    ]
    passed: set[str] = set()
    for name, check, needs in checks:
        missing = [need for need in needs if need not in passed]
        if missing:
            yield CheckResult(name, None, f"skipped: {missing[0]} did not pass")
            continue
        result = check()
        if result.ok:
            passed.add(name)
        yield result
    missing = [need for need in ("permission", "TLS") if need not in passed]
    if missing:
        for name in ("login", "clock"):
            yield CheckResult(name, None, f"skipped: {missing[0]} did not pass")
        return
    yield from diagnosis.login_and_clock()
