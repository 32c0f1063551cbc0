"""Target options from flags, ``REDSHIFT_EPHEMERAL_<NAME>`` variables and the config file.

Precedence: flags > environment > ``[targets.<name>]`` in
``$XDG_CONFIG_HOME/redshift-ephemeral/config.toml``. Everything becomes keyword arguments of
``CredentialSource.from_options``, which validates them.
"""

from __future__ import annotations

import argparse
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

ENV_PREFIX = "REDSHIFT_EPHEMERAL_"


@dataclass(frozen=True)
class Option:
    flag: str
    kind: type | str  # str, int, bool ("flag") or "list"
    help: str
    keyword: str  # CredentialSource.from_options keyword

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dest.upper()


OPTIONS = (
    Option("--cluster-id", str, "provisioned cluster identifier", "cluster_id"),
    Option("--workgroup", str, "serverless workgroup name", "workgroup"),
    Option(
        "--custom-domain", str, "custom domain name of the cluster or workgroup", "custom_domain"
    ),
    Option(
        "--serverless", "flag", "the custom domain or host is a serverless workgroup", "serverless"
    ),
    Option("--host", str, "connect here instead of the discovered endpoint (tunnel, NLB)", "host"),
    Option("--port", int, "port for --host", "port"),
    Option("--database", str, "database name (default: the cluster's, or dev)", "database"),
    Option(
        "--db-user",
        str,
        "database user: uses GetClusterCredentials (else your IAM identity)",
        "db_user",
    ),
    Option(
        "--db-group", "list", "database group to join for the session (repeatable)", "db_groups"
    ),
    Option("--auto-create", "flag", "create the database user if it does not exist", "auto_create"),
    Option(
        "--duration",
        int,
        "password lifetime in seconds, 900-3600 (default 900)",
        "duration_seconds",
    ),
    Option("--profile", str, "AWS profile", "profile"),
    Option("--region", str, "AWS region", "region"),
    Option("--role-arn", str, "IAM role to assume first", "role_arn"),
    Option("--external-id", str, "external id for --role-arn", "external_id"),
    Option("--mfa-serial", str, "MFA device for --role-arn (the code is asked once)", "mfa_serial"),
    Option("--endpoint-url", str, "AWS endpoint URL (e.g. the local stack)", "endpoint_url"),
    Option("--sslmode", str, "verify-full (default), verify-ca or require", "sslmode"),
    Option(
        "--sslrootcert",
        str,
        "CA bundle to trust (default: Amazon's roots from certifi)",
        "sslrootcert",
    ),
)

# Options that say what the target is; they are taken together from one layer.
TARGET_NAMES = frozenset({"cluster_id", "workgroup", "custom_domain", "serverless"})

PRECEDENCE_HELP = (
    "Each option can also come from a REDSHIFT_EPHEMERAL_<NAME> variable (e.g. "
    "REDSHIFT_EPHEMERAL_CLUSTER_ID) or a [targets.<name>] table in "
    "$XDG_CONFIG_HOME/redshift-ephemeral/config.toml. Precedence: flags > environment > config."
)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", nargs="?", metavar="TARGET", help="a named target from the config file"
    )
    group = parser.add_argument_group("target options", PRECEDENCE_HELP)
    for option in OPTIONS:
        if option.kind == "flag":
            group.add_argument(option.flag, action="store_true", default=None, help=option.help)
        elif option.kind == "list":
            group.add_argument(option.flag, action="append", default=None, help=option.help)
        else:
            assert isinstance(option.kind, type)
            group.add_argument(option.flag, type=option.kind, default=None, help=option.help)


def config_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "redshift-ephemeral" / "config.toml"


def read_config(path: Path) -> dict[str, Any] | None:
    """The parsed config file; None if there is none. Whatever else is at ``path`` - a
    directory, a FIFO, bytes that are not UTF-8, TOML nested beyond the parser's recursion
    limit - is a ``ConfigurationError`` naming the file and the fix."""
    try:
        if not path.is_file():
            if not path.exists():
                return None
            raise ConfigurationError(f"{path} is not a regular file. Replace it with a TOML file.")
        text = path.read_bytes().decode("utf-8")
        return tomllib.loads(text)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigurationError(f"Cannot read {path}: {reason}. Fix the file.") from None
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"{path} is not UTF-8 text (byte {error.start}). Save it as UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}. Fix the file.") from None
    except RecursionError:
        raise ConfigurationError(
            f"{path} nests arrays or tables too deeply to read. Fix the file."
        ) from None


def load_named_target(name: str, environ: Mapping[str, str]) -> dict[str, Any]:
    path = config_path(environ)
    document = read_config(path)
    if document is None:
        raise ConfigurationError(
            f"Target {name!r} is not defined: {path} does not exist. Create it with a "
            f"[targets.{_plain(name)}] table, or give --cluster-id / --workgroup."
        )
    targets = document.get("targets", {})
    table = targets.get(name) if isinstance(targets, dict) else None
    if not isinstance(table, dict):
        known = (
            ", ".join(_plain(key) for key in sorted(targets))
            if isinstance(targets, dict) and targets
            else "none"
        )
        raise ConfigurationError(
            f"Target {name!r} is not defined in {path} (defined: {known}). Add a "
            f"[targets.{_plain(name)}] table or pick one of those."
        )
    return table


def _from_environment(option: Option, raw: str) -> object:
    """Parse a ``REDSHIFT_EPHEMERAL_*`` value (always text)."""
    text = raw.strip()
    if option.kind == "flag":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigurationError(f"Invalid value for {option.env}: expected true or false.")
    if option.kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if option.kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(
                f"Invalid value for {option.env}: expected a whole number."
            ) from None
    return raw


def _from_config(option: Option, raw: object, origin: str) -> object:
    """Check a config-file value's TOML type: numbers are numbers, flags are booleans."""
    if option.kind == "flag":
        valid, expected = isinstance(raw, bool), "true or false"
    elif option.kind == "list":
        valid = isinstance(raw, list) and all(isinstance(item, str) for item in raw)
        expected = 'a list of names, e.g. ["analysts"]'
    elif option.kind is int:
        valid, expected = isinstance(raw, int) and not isinstance(raw, bool), "a whole number"
    else:
        valid, expected = isinstance(raw, str), "a quoted string"
    if not valid:
        raise ConfigurationError(f"Invalid value for {origin}: expected {expected}.")
    return raw


def _plain(text: str) -> str:
    """``text`` for an error message: as it is if printable, else quoted and escaped, so a
    message stays on its line."""
    return text if text.isprintable() else repr(text)


def _plain_text(option: Option, value: object, origin: str) -> object:
    """Refuse blank text, control characters (NUL, line breaks, escapes) and unpaired
    surrogates in a text value: no name, path, URL or profile is blank or contains one (a
    blank one would silently mean "the default"), and NUL cannot even reach the system."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if not isinstance(text, str):
            continue
        if not text.strip():
            raise ConfigurationError(
                f"Invalid value for {origin}: it is empty. Give a value or leave it out."
            )
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in text):
            raise ConfigurationError(
                f"Invalid value for {origin}: {text!r} contains a control character. Remove it."
            )
    return value


def resolve(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``CredentialSource.from_options``, by precedence."""
    config: dict[str, Any] = {}
    if getattr(args, "target", None):
        config = load_named_target(args.target, environ)
        known = {option.dest for option in OPTIONS} | {
            option.flag.lstrip("-") for option in OPTIONS
        }
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown key(s) {', '.join(map(_plain, unknown))} in "
                f"[targets.{_plain(args.target)}]; known keys: "
                + ", ".join(option.dest for option in OPTIONS)
                + "."
            )
    layers = [
        {
            o.dest: _plain_text(o, getattr(args, o.dest), o.flag)
            for o in OPTIONS
            if getattr(args, o.dest, None) is not None
        },
        {
            o.dest: _plain_text(o, _from_environment(o, environ[o.env]), o.env)
            for o in OPTIONS
            if environ.get(o.env)  # an empty variable counts as unset, as in a shell
        },
        _config_layer(config, getattr(args, "target", None)),
    ]
    # What the target is comes whole from the highest layer that names one, so a flag
    # `--workgroup` is not mixed with an exported REDSHIFT_EPHEMERAL_CLUSTER_ID.
    naming = next((layer for layer in layers if TARGET_NAMES & set(layer)), {})
    resolved: dict[str, Any] = {}
    for option in OPTIONS:
        sources = [naming] if option.dest in TARGET_NAMES else layers
        for layer in sources:
            if option.dest in layer:
                resolved[option.keyword] = layer[option.dest]
                break
    if "role_arn" in resolved:
        # The AWS CLI's own STS cache: a role (and its MFA code) is asked for once per
        # session, not once per command, and shared with `aws`.
        resolved["sts_cache_dir"] = str(Path.home() / ".aws" / "cli" / "cache")
    return resolved


def _config_layer(config: dict[str, Any], target: str | None) -> dict[str, object]:
    layer: dict[str, object] = {}
    for option in OPTIONS:
        for key in (option.dest, option.flag.lstrip("-")):
            if key in config:
                origin = f"{_plain(key)} in [targets.{_plain(target or '')}]"
                value = _from_config(option, config[key], origin)
                layer[option.dest] = _plain_text(option, value, origin)
                break
    return layer
