"""Keep named targets' credentials fresh in the background, for tools that are not Python:
a libpq passfile and a pg_service.conf section per target (rewritten at every refresh), and
a Unix socket that answers `redshift-ephemeral password TARGET` in milliseconds. Only your
own user may ask it; it stops cleanly on SIGTERM or Ctrl-C, removing its socket and files.

  redshift-ephemeral agent [TARGET ...]    # no TARGET: every target of config.toml
  eval "$(redshift-ephemeral agent env)"   # PGSERVICEFILE and PGPASSFILE for this shell
  psql "service=TARGET"                    # or DBeaver / pgAdmin with the service name
  redshift-ephemeral agent status [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..agent import Agent

ACTIONS = ("env", "status")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s [TARGET ...] | env | status [--json]"
    parser.add_argument(
        "words",
        nargs="*",
        metavar="TARGET",
        help="named targets of the config file to keep (default: all of them); or `env` "
        "(print export lines for PGSERVICEFILE and PGPASSFILE) or `status`",
    )
    parser.add_argument("--json", action="store_true", help="for `status`: one JSON object")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    words: list[str] = list(args.words)
    if words and words[0] in ACTIONS:
        from .. import ConfigurationError

        if len(words) > 1:
            raise ConfigurationError(
                f"`agent {words[0]}` takes no target. Run `redshift-ephemeral agent "
                f"{words[0]}` alone."
            )
        return show_environment(environ) if words[0] == "env" else show_status(args, environ)
    return run_agent(words, environ)


def show_environment(environ: Mapping[str, str]) -> int:
    from ..agent import AgentPaths, environment_lines

    for line in environment_lines(AgentPaths.from_environment(environ)):
        print(line)
    return 0


def show_status(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from ..agent import agent_status

    status = agent_status(environ)
    if status is None:
        print("no agent is running (start one: redshift-ephemeral agent)", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({key: value for key, value in status.items() if key != "ok"}))
        return 0
    print(f"agent pid {status['pid']}, socket {status['socket']}")
    for target in status["targets"]:
        state = "valid" if target["valid"] else f"NO VALID PASSWORD ({target['last_error']})"
        print(f"  {target['name']}  {target['user']}  expires {target['expires_at']}  {state}")
    return 0


def run_agent(names: list[str], environ: Mapping[str, str]) -> int:
    from ..agent import Agent, AgentPaths, fetches_for, targets_to_keep

    root = logging.getLogger()
    if not root.handlers:  # the agent reports refreshes and failures unless told otherwise
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("redshift_ephemeral").setLevel(logging.INFO)
    paths = AgentPaths.from_environment(environ)  # before any AWS call: a clear error first
    targets = targets_to_keep(names, environ)
    agent = Agent(fetches_for(targets, environ), paths)
    agent.run_until_signalled(ready=print_ready)
    return 0


def print_ready(agent: Agent) -> None:
    paths = agent.paths
    targets = ", ".join(sorted(agent.keeper.targets))
    print(f"redshift-ephemeral agent: keeping {targets}")
    print(f"  socket        {paths.socket}")
    print(f"  passfile      {paths.passfile}")
    print(f"  service file  {paths.service_file}")
    first = min(agent.keeper.targets)
    print(
        f'Use it: eval "$(redshift-ephemeral agent env)"; psql "service={first}"; '
        f"redshift-ephemeral password {first}"
    )
    sys.stdout.flush()
