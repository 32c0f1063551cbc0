"""Start, stop or inspect the local stack in the background.

up      start it (once, even if several run at the same time; later calls report it)
down    stop it and remove its files
status  show where it listens and the AWS calls it has answered (--json for scripts)
env     print the `export` lines a shell needs:  eval "$(redshift-ephemeral local env)"
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument(
        "--json", action="store_true", help="for `status`: one JSON object, for scripts"
    )


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..local import background
    from ..local.stack import LocalStack

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
        for name, value in stack.environment().items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    status = stack.status()
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return 0
    endpoint = status["redshift_endpoint"]
    print(f"pid          {status['pid']}")
    print(f"AWS API      {status['aws_endpoint_url']} (region {status['region']})")
    print(f"Redshift     {endpoint['host']}:{endpoint['port']}")
    print(f"CA           {status['ca_path']}")
    print(f"CA bundle    {status['ca_bundle_path']} (SSL_CERT_FILE)")
    calls = status["calls"]
    print("AWS calls    " + (", ".join(f"{k}={v}" for k, v in sorted(calls.items())) or "none"))
    return 0
