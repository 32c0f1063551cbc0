"""The target options as flags, built from the library's declarations (``OPTIONS``), and the
source they make: ``CredentialSource.from_target`` / ``from_config``, which apply the
precedence flags > environment > config file."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .. import CredentialSource

PRECEDENCE_HELP = (
    "Each option can also come from a REDSHIFT_EPHEMERAL_<NAME> variable (e.g. "
    "REDSHIFT_EPHEMERAL_CLUSTER_ID) or a [targets.<name>] table in "
    "$XDG_CONFIG_HOME/redshift-ephemeral/config.toml. Precedence: flags > environment > config."
)


ON_BY_DEFAULT = {"shared_cache": True}
"""Options the command line turns on unless a flag, variable or config key turns them off."""


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    from .. import OPTIONS, OptionKind

    parser.add_argument(
        "target", nargs="?", metavar="TARGET", help="a named target from the config file"
    )
    group = parser.add_argument_group("target options", PRECEDENCE_HELP)
    for option in OPTIONS:
        # default None: a flag not given is absent, so the environment or the config decides.
        common: dict[str, Any] = {"dest": option.keyword, "default": None, "help": option.help}
        if option.kind is OptionKind.SWITCH:
            if option.keyword in ON_BY_DEFAULT:  # --shared-cache / --no-shared-cache
                group.add_argument(option.flag, action=argparse.BooleanOptionalAction, **common)
            else:
                group.add_argument(option.flag, action="store_true", **common)
            continue
        common["metavar"] = option.name.upper()
        if option.kind is OptionKind.NAMES:
            group.add_argument(option.flag, action="append", **common)
        elif option.kind is OptionKind.NUMBER:
            group.add_argument(option.flag, type=int, **common)
        else:
            group.add_argument(option.flag, **common)


def source_from_arguments(args: argparse.Namespace, environ: Mapping[str, str]) -> CredentialSource:
    from .. import OPTIONS, CredentialSource

    flags: dict[str, Any] = {option.keyword: getattr(args, option.keyword) for option in OPTIONS}
    if getattr(args, "target", None):
        return CredentialSource.from_target(
            args.target, environ=environ, defaults=ON_BY_DEFAULT, **flags
        )
    return CredentialSource.from_config(environ=environ, defaults=ON_BY_DEFAULT, **flags)
