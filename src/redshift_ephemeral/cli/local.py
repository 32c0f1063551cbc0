"""Start, stop or inspect the local stack in the background.

up      start it (once; later calls report the running one)
down    stop it and remove its files
status  show where it listens and the AWS calls it has answered
env     print the `export` lines a shell needs:  eval "$(redshift-ephemeral local env)"
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping

from ..errors import ConfigurationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down", "status", "env"))
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="for `up`: how fast AWS time runs (1/300: 900 s last 3 s)",
    )
    parser.add_argument(
        "--ttl",
        type=float,
        default=12 * 3600,
        help="for `up`: stop by itself after this many seconds (default 12 h)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..local import stack as local_stack

    if args.action == "up":
        info = local_stack.start_background(args.time_scale, args.ttl)
        print(
            f"local stack running (pid {info['pid']}): AWS API {info['endpoint_url']}, "
            f"PostgreSQL localhost:{info['postgres_port']}"
        )
        print('use it in this shell with:  eval "$(redshift-ephemeral local env)"')
        return 0
    if args.action == "down":
        stopped = local_stack.stop_background()
        print("local stack stopped" if stopped else "no local stack was running")
        return 0
    running = local_stack.background_info()
    if running is None:
        raise ConfigurationError(
            "No local stack is running. Start one with `redshift-ephemeral local up`."
        )
    stack = local_stack.LocalStack.attach(running)
    if args.action == "env":
        for name, value in stack.environment().items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    print(f"pid          {stack.pid}")
    print(f"AWS API      {stack.endpoint_url} (region {stack.region})")
    print(f"PostgreSQL   {stack.postgres_host}:{stack.postgres_port}")
    print(f"CA           {stack.ca_path}")
    calls = stack.calls()
    print("AWS calls    " + (", ".join(f"{k}={v}" for k, v in sorted(calls.items())) or "none"))
    return 0
