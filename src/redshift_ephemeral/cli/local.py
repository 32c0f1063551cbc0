"""Start, stop or inspect the local stack in the background.

up      start it (once, even if several run at the same time; later calls report it)
down    stop it and remove its files
status  show where it listens and the AWS calls it has answered (--json for scripts)
env     print the `export` lines a shell needs:  eval "$(redshift-ephemeral local env)"
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import ConfigurationError

if TYPE_CHECKING:
    from ..local import LocalStack


def time_scale(text: str) -> float:
    """``--time-scale``: in (0, 1] - AWS time may run slower than real time, never stop.
    A fraction as the help shows it (``1/300``) or a decimal."""
    numerator, slash, denominator = text.partition("/")
    if slash:
        parts = _finite(numerator), _finite(denominator)
        if parts[1] == 0:
            raise argparse.ArgumentTypeError(f"{text!r} divides by zero")
        value = parts[0] / parts[1]
    else:
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
    parser.add_argument(
        "--json", action="store_true", help="for `status`: one JSON object, for scripts"
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..local import LocalStack, background

    if args.action == "up":
        stack = LocalStack.attach(background.start_background(args.time_scale, args.ttl))
        print(
            f"local stack running (pid {stack.pid}): AWS API {stack.endpoint_url}, "
            f"Redshift endpoint {stack.redshift_host}:{stack.redshift_port}"
        )
        print('use it in this shell with:  eval "$(redshift-ephemeral local env)"')
        return 0
    if args.action == "down":
        stopped = background.stop_background()
        print("local stack stopped" if stopped else "no local stack was running")
        return 0
    running = background.background_info()
    if running is None:
        raise ConfigurationError(
            "No local stack is running. Start one with `redshift-ephemeral local up`."
        )
    stack = LocalStack.attach(running)
    if args.action == "env":
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in stack.environment().items()))
        return 0
    _print_status(stack, as_json=args.json)
    return 0


def _print_status(stack: LocalStack, *, as_json: bool) -> None:
    try:
        status = stack.status()
    except OSError as error:  # URLError included: it stopped between the check and the call
        raise ConfigurationError(
            f"The local stack (pid {stack.pid}) did not answer ({type(error).__name__}). Run "
            "`redshift-ephemeral local down`, then `local up`."
        ) from None
    if as_json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return
    endpoint = status["redshift_endpoint"]
    print(f"pid          {status['pid']}")
    print(f"AWS API      {status['aws_endpoint_url']} (region {status['region']})")
    print(f"Redshift     {endpoint['host']}:{endpoint['port']}")
    print(f"CA           {status['ca_path']}")
    print(f"CA bundle    {status['ca_bundle_path']} (SSL_CERT_FILE)")
    calls = status["calls"]
    print("AWS calls    " + (", ".join(f"{k}={v}" for k, v in sorted(calls.items())) or "none"))
