"""The emulator's WSGI application: it routes each request and owns the order of the checks
every AWS call goes through - knobs (count, latency, outage, throttling), then SigV4, then
the operation's handler, or IAM authorization and moto for the operations it leaves to moto,
or AWS's unknown-operation error. What each operation does lives in the module named for
its service.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..identities import Identities
from ..passwords import IssuedPasswords
from ..roles import Roles
from ..statements import Connector, Statements
from .auth import UNSIGNED_OPERATIONS, Auth
from .calls import ACCOUNT_ID, Call, Handler
from .control import CONTROL_PREFIX, ControlApi
from .faults import AwsFault, access_denied, unknown_operation
from .knobs import KnobBoard, Knobs
from .logins import Logins
from .passthrough import UNAUTHORIZED_ACTIONS, MotoPassthrough, WsgiApp, moto_implements
from .passthrough import resource_for as moto_resource_for
from .protocols import StartResponse, fault_response, parse_call, read_body, result_response
from .redshift import RedshiftHandlers, cluster_exists
from .redshift_data import RedshiftDataHandlers
from .redshift_serverless import RedshiftServerlessHandlers
from .sts import StsHandlers


class Emulator:
    """The WSGI application. ``endpoint_host``/``endpoint_port`` (the Redshift endpoint) is
    what DescribeClusters and GetWorkgroup report."""

    def __init__(
        self,
        moto_app: WsgiApp,
        roles: Roles,
        passwords: IssuedPasswords,
        *,
        endpoint_port: int,
        control_token: str,
        endpoint_host: str = "localhost",
        seed: int = 0,
        restart_postgres: Callable[[], None] | None = None,
        connect_as: Connector | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.endpoint_host = endpoint_host
        self.endpoint_port = endpoint_port
        self.identities = Identities(ACCOUNT_ID)
        self._board = KnobBoard(seed)
        self._auth = Auth(self.identities, clock)
        logins = Logins(roles, passwords)
        self._moto = MotoPassthrough(moto_app, endpoint_host, endpoint_port)
        self._control = ControlApi(
            self._board, logins, roles, token=control_token, restart_postgres=restart_postgres
        )
        serverless = RedshiftServerlessHandlers(
            self._auth, logins, endpoint_host=endpoint_host, endpoint_port=endpoint_port
        )
        self._handlers: dict[str, dict[str, Handler]] = {
            "redshift": RedshiftHandlers(
                self._auth, logins, endpoint_host=endpoint_host, endpoint_port=endpoint_port
            ).operations(),
            "redshift-serverless": serverless.operations(),
            "sts": StsHandlers(self._auth, clock).operations(),
        }
        # The Data API runs SQL on the stack's PostgreSQL; without it, it is not emulated.
        self.statements = Statements(connect_as) if connect_as is not None else None
        if self.statements is not None:
            self._handlers["redshift-data"] = RedshiftDataHandlers(
                self._auth,
                logins,
                self.statements,
                cluster_exists=cluster_exists,
                workgroup_arn=serverless.workgroup_arn_of,
            ).operations()

    @property
    def knobs(self) -> Knobs:
        return self._board.knobs

    @property
    def calls(self) -> Counter[str]:
        return self._board.calls

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, path[len(CONTROL_PREFIX) :])
        body = read_body(environ)
        call = parse_call(environ, body)
        if path != "/":
            # Every emulated API lives at "/"; moto's own paths (/moto-api/: its state with
            # every secret key, reset, seeding) must never be reachable.
            return fault_response(call, unknown_operation(call.service, path), start_response)
        if call.access_key == "" and call.operation in UNSIGNED_OPERATIONS:
            # AWS takes these unsigned, trusting the identity provider's token instead; the
            # stack trusts no identity provider, so no token can be valid here.
            denied = access_denied(
                call.service,
                f"Not authorized to perform sts:{call.operation}: the local stack trusts no "
                "identity provider.",
            )
            return fault_response(call, denied, start_response)
        knobs, knob_fault = self._board.admit(call.action, call.service)
        try:
            if knob_fault is not None:
                raise knob_fault
            call = replace(call, identity=self._auth.authenticate(environ, body))
            handler = self._handlers.get(call.service, {}).get(call.operation)
            if handler is None:
                if not moto_implements(call.service, call.operation):
                    raise unknown_operation(call.service, call.operation)
                if call.action not in UNAUTHORIZED_ACTIONS:
                    self._auth.authorize(call, call.action, _moto_resource(call))
                return self._moto(environ, body, start_response)
            result = handler(call, knobs)
        except AwsFault as fault:
            return fault_response(call, fault, start_response)
        return result_response(call, result, start_response)


def _moto_resource(call: Call) -> str:
    return moto_resource_for(
        call.service,
        call.operation,
        call.params,
        region=call.region,
        account=ACCOUNT_ID,
        caller_arn=call.caller.arn,
    )
