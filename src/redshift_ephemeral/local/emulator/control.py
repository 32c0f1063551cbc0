"""The control API under ``/_local/``: what tests, benchmarks and the CLI use to turn knobs,
read call counts and issued passwords, restart PostgreSQL and create groups.

Not AWS: it is authorised by the stack's own token (from the state file only its user can
read), never by SigV4, and answers plain JSON.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from ..roles import Roles
from .knobs import KnobBoard
from .logins import Logins
from .protocols import StartResponse, read_body, respond

CONTROL_PREFIX = "/_local/"


class ControlApi:
    def __init__(
        self,
        knob_board: KnobBoard,
        logins: Logins,
        roles: Roles,
        *,
        token: str,
        restart_postgres: Callable[[], None] | None = None,
    ):
        self._board = knob_board
        self._logins = logins
        self._roles = roles
        self._token = token
        self._restart_postgres = restart_postgres

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse, command: str
    ) -> Iterable[bytes]:
        if not secrets.compare_digest(environ.get("HTTP_X_LOCAL_STACK_TOKEN", ""), self._token):
            return respond(start_response, 403, b'{"error": "bad token"}', "application/json")
        body = read_body(environ)
        if command == "restart-postgres" and self._restart_postgres is not None:
            self._restart_postgres()  # outside the lock: it takes a moment
            command = "state"
        elif command == "create-group":
            # The stack administrator's act (as CREATE GROUP on Redshift), never a request's.
            try:
                self._roles.create_group(str(json.loads(body)["name"]))
            except (ValueError, KeyError, TypeError) as error:
                return _error(start_response, error)
            command = "state"
        try:
            with self._board.lock:
                if command == "knobs" and body:
                    self._board.knobs.update(json.loads(body))
                elif command == "reset":
                    self._board.reset()
                elif command == "clear-issued":
                    self._logins.clear_issued()
                elif command not in ("state", "knobs", "issued"):
                    raise ValueError(f"unknown control command {command!r}")
                state = self._board.state()
            if command == "issued":
                state["issued_passwords"] = self._logins.issued()
        except (ValueError, TypeError) as error:
            return _error(start_response, error)
        return respond(start_response, 200, json.dumps(state).encode(), "application/json")


def _error(start_response: StartResponse, error: Exception) -> Iterable[bytes]:
    return respond(
        start_response, 400, json.dumps({"error": str(error)}).encode(), "application/json"
    )
