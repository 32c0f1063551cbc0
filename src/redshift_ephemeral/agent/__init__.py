"""The per-user agent (``redshift-ephemeral agent``) and its client (``password``).

The agent keeps named targets' credentials fresh ahead of expiry, renders a libpq passfile
and a ``pg_service.conf`` for tools that are not Python, and answers password requests on a
Unix socket that only its own user may use. Names are imported on first use: the
``password`` client loads the socket client alone, never AWS or a driver.

  paths.py      where: $XDG_RUNTIME_DIR/redshift-ephemeral/agent/ and its checks
  protocol.py   one JSON line each way, bounded in size and time
  peer.py       who connected (SO_PEERCRED)
  client.py     ask the agent (the password command's fast path)
  rendering.py  the passfile and pg_service.conf text; target names as sections
  keeper.py     the refresh schedule: advisory point, backoff, expiry
  server.py     the socket: peer check, one bounded request, one answer
  instance.py   one agent per user (flock)
  daemon.py     the agent's life: lock, fetch, files, socket, signals, clean-up
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Agent": "daemon",
    "environment_lines": "daemon",
    "fetches_for": "daemon",
    "targets_to_keep": "daemon",
    "AgentAlreadyRunning": "instance",
    "AgentPathError": "paths",
    "AgentPaths": "paths",
    "AgentRefusedError": "client",
    "agent_password": "client",
    "agent_status": "client",
    "check_target_name": "rendering",
}

__all__ = [
    "Agent",
    "AgentAlreadyRunning",
    "AgentPathError",
    "AgentPaths",
    "AgentRefusedError",
    "agent_password",
    "agent_status",
    "check_target_name",
    "environment_lines",
    "fetches_for",
    "targets_to_keep",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'redshift_ephemeral.agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .client import AgentRefusedError, agent_password, agent_status
    from .daemon import Agent, environment_lines, fetches_for, targets_to_keep
    from .instance import AgentAlreadyRunning
    from .paths import AgentPathError, AgentPaths
    from .rendering import check_target_name
