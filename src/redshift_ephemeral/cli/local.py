"""Start, stop or inspect the local stack in the background.

up      start it (once; later calls report the running one)
down    stop it and remove its files
status  show where it listens and the AWS calls it has answered
env     print the `export` lines a shell needs:  eval "$(redshift-ephemeral local env)"
"""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError

# What a corrupt or stale state file raises when read or used: bad JSON (ValueError), a
# missing or mistyped field (KeyError, TypeError), a stack that no longer answers (URLError,
# an OSError).
_STATE_ERRORS = (ValueError, KeyError, TypeError, OSError)


def time_scale(text: str) -> float:
    """``--time-scale``: in (0, 1] - AWS time may run slower than real time, never stop."""
    value = _finite(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not in (0, 1]: give e.g. 1 (real time) or 0.00333 (900 s last 3 s)"
        )
    return value


def ttl(text: str) -> float:
    """``--ttl``: a positive number of seconds."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down", "status", "env"))
    parser.add_argument(
        "--time-scale",
        type=time_scale,
        default=1.0,
        help="for `up`: how fast AWS time runs, in (0, 1] (1/300: 900 s last 3 s)",
    )
    parser.add_argument(
        "--ttl",
        type=ttl,
        default=12 * 3600,
        help="for `up`: stop by itself after this many seconds (default 12 h)",
    )


def _unusable_state(error: Exception) -> ConfigurationError:
    from ..local import stack as local_stack

    return ConfigurationError(
        f"The local stack's state file {local_stack.state_file()} is corrupt or stale "
        f"({type(error).__name__}). Run `redshift-ephemeral local down` to clear it."
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..local import stack as local_stack

    if args.action == "down":
        return _down()
    try:
        running = local_stack.background_info()
    except _STATE_ERRORS as error:
        raise _unusable_state(error) from None
    if args.action == "up":
        info = running or local_stack.start_background(args.time_scale, args.ttl)
        print(
            f"local stack running (pid {info['pid']}): AWS API {info['endpoint_url']}, "
            f"PostgreSQL localhost:{info['postgres_port']}"
        )
        print('use it in this shell with:  eval "$(redshift-ephemeral local env)"')
        return 0
    if running is None:
        raise ConfigurationError(
            "No local stack is running. Start one with `redshift-ephemeral local up`."
        )
    try:
        _show(local_stack.LocalStack.attach(running), args.action)
    except _STATE_ERRORS as error:
        raise _unusable_state(error) from None
    return 0


def _down() -> int:
    from ..local import stack as local_stack

    try:
        stopped = local_stack.stop_background()
    except _STATE_ERRORS:
        # No process can be identified from it: all that is left to do is to drop the file.
        local_stack.state_file().unlink(missing_ok=True)
        print("removed a corrupt local-stack state file; no stack could be identified")
        return 0
    print("local stack stopped" if stopped else "no local stack was running")
    return 0


def _show(stack: Any, action: str) -> None:
    if action == "env":
        lines = [
            f"export {name}={shlex.quote(value)}" for name, value in stack.environment().items()
        ]
        print("\n".join(lines))
        return
    calls = stack.calls()
    print(f"pid          {stack.pid}")
    print(f"AWS API      {stack.endpoint_url} (region {stack.region})")
    print(f"PostgreSQL   {stack.postgres_host}:{stack.postgres_port}")
    print(f"CA           {stack.ca_path}")
    print("AWS calls    " + (", ".join(f"{k}={v}" for k, v in sorted(calls.items())) or "none"))
