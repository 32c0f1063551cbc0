"""Every option of a credential source, declared once, and where its value comes from.

Each ``Option`` names its keyword (``CredentialSource.from_options``), its kind, its rule and
its help; its flag (``--db-user``), environment variable (``REDSHIFT_EPHEMERAL_DB_USER``) and
config keys (``db_user`` / ``db-user`` in a ``[targets.<name>]`` table of
``$XDG_CONFIG_HOME/redshift-ephemeral/config.toml``) are derived from its name. The CLI's
flags, its completion, ``CredentialSource.from_config`` / ``from_target`` and README's table
of options are all built from ``OPTIONS``.

Precedence: explicit values (flags, or ``from_config``'s keyword arguments) > environment >
config file. The options that say what the target is are taken whole from the highest layer
that names one, so a ``--workgroup`` is never mixed with an exported cluster id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from . import targets
from .errors import ConfigurationError

if TYPE_CHECKING:
    import boto3

    from .cache import CredentialCache

ENV_PREFIX = "REDSHIFT_EPHEMERAL_"
RetryMode = Literal["standard", "adaptive"]
MfaTokenProvider = Callable[[str], str]
"""Called with a prompt naming the MFA device; returns the current code."""


class OptionKind(Enum):
    """How a value is written on the command line, in a variable and in TOML."""

    TEXT = "text"
    NUMBER = "whole number"
    SWITCH = "true or false"
    NAMES = "list of names"


def _sslmode(value: str) -> object:
    from .tls import validate_sslmode  # tls loads certifi and ssl: only when a mode is given

    return validate_sslmode(value)


@dataclass(frozen=True)
class Option:
    """One option: everything else about it is derived from these fields."""

    keyword: str  # CredentialSource.from_options / from_config keyword
    kind: OptionKind
    help: str
    check: Callable[[Any], object] | None = None  # the rule; raises ConfigurationError
    short_name: str | None = None  # the outside name when it differs from ``keyword``
    names_target: bool = False  # says what the target is: taken whole from one layer

    @property
    def name(self) -> str:
        """``db_group``: the name flags, variables and config keys are made from."""
        return self.short_name or self.keyword

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def config_keys(self) -> tuple[str, str]:
        return self.name, self.name.replace("_", "-")

    def check_value(self, value: object) -> None:
        """The option's rule, on each item of a list."""
        if self.check is not None:
            for item in value if isinstance(value, list) else [value]:
                self.check(item)


OPTIONS: tuple[Option, ...] = (
    Option(
        "cluster_id",
        OptionKind.TEXT,
        "provisioned cluster identifier",
        targets.validate_cluster_identifier,
        names_target=True,
    ),
    Option(
        "workgroup",
        OptionKind.TEXT,
        "serverless workgroup name",
        targets.validate_workgroup_name,
        names_target=True,
    ),
    Option(
        "custom_domain",
        OptionKind.TEXT,
        "custom domain name of the cluster or workgroup",
        targets.validate_custom_domain,
        names_target=True,
    ),
    Option(
        "serverless",
        OptionKind.SWITCH,
        "the custom domain or host is a serverless workgroup",
        names_target=True,
    ),
    Option(
        "host",
        OptionKind.TEXT,
        "connect here instead of the discovered endpoint (tunnel, NLB)",
        targets.validate_host,
    ),
    Option("port", OptionKind.NUMBER, "port for --host", targets.validate_port),
    Option(
        "connect_address",
        OptionKind.TEXT,
        "open the connection at this IP address[:port] (SSH tunnel, NLB, VPC endpoint) while "
        "the certificate is still checked against the host name (libpq hostaddr)",
        targets.validate_connect_address,
    ),
    Option(
        "endpoint_name",
        OptionKind.TEXT,
        "Redshift-managed VPC endpoint of the cluster or workgroup to connect through "
        "(found with DescribeEndpointAccess / GetEndpointAccess)",
        targets.validate_endpoint_name,
    ),
    Option(
        "database",
        OptionKind.TEXT,
        "database name (default: the cluster's, or dev)",
        targets.validate_db_name,
    ),
    Option(
        "db_user",
        OptionKind.TEXT,
        "database user: uses GetClusterCredentials (else your IAM identity)",
        targets.validate_db_user,
    ),
    Option(
        "db_groups",
        OptionKind.NAMES,
        "database group to join for the session (repeatable)",
        targets.validate_db_group,
        short_name="db_group",
    ),
    Option("auto_create", OptionKind.SWITCH, "create the database user if it does not exist"),
    Option(
        "duration_seconds",
        OptionKind.NUMBER,
        "password lifetime in seconds, 900-3600 (default 900)",
        targets.validate_duration,
        short_name="duration",
    ),
    Option("profile", OptionKind.TEXT, "AWS profile"),
    Option("region", OptionKind.TEXT, "AWS region", targets.validate_region),
    Option("role_arn", OptionKind.TEXT, "IAM role to assume first"),
    Option("external_id", OptionKind.TEXT, "external id for --role-arn"),
    Option("mfa_serial", OptionKind.TEXT, "MFA device for --role-arn (the code is asked once)"),
    Option("endpoint_url", OptionKind.TEXT, "AWS endpoint URL (e.g. the local stack)"),
    Option("sslmode", OptionKind.TEXT, "verify-full (default), verify-ca or require", _sslmode),
    Option(
        "sslrootcert", OptionKind.TEXT, "CA bundle to trust (default: Amazon's roots from certifi)"
    ),
    Option(
        "shared_cache",
        OptionKind.SWITCH,
        "share credentials with your other processes through the file cache (the command "
        "line's default; the library's is off)",
    ),
)
OPTION_BY_KEYWORD = {option.keyword: option for option in OPTIONS}

# Options a program gives as Python objects or tuning knobs; no flag, variable or config key.
PROGRAM_ONLY_OPTIONS = {
    "session": "a boto3.Session to use instead of boto3's credential chain",
    "session_name": "RoleSessionName of the (last) assumed role",
    "mfa_token_provider": "called with a prompt, returns the MFA code (default: ask once)",
    "retry_mode": "botocore's retry mode: standard (default) or adaptive",
    "max_attempts": "botocore's total attempts per AWS call (default 5)",
    "sts_cache_dir": "botocore's on-disk STS cache for assumed roles",
    "cache": "the CredentialCache to use (default: the process-wide one)",
}


class SeedOptions(TypedDict, total=False):
    """The options besides the database user, the cluster and the duration (which the seed's
    ``generate_redshift_credentials`` takes as positional arguments). Kept equal to
    ``OPTIONS`` and ``PROGRAM_ONLY_OPTIONS`` by a test."""

    workgroup: str | None
    custom_domain: str | None
    serverless: bool
    host: str | None
    port: int | None
    connect_address: str | None
    endpoint_name: str | None
    database: str | None
    db_groups: Iterable[str]
    auto_create: bool
    region: str | None
    profile: str | None
    role_arn: str | Iterable[str] | None  # a list: a chain of roles, assumed in order
    external_id: str | None
    mfa_serial: str | None
    endpoint_url: str | None
    sslmode: str
    sslrootcert: str | None
    session: boto3.Session | None
    session_name: str | None
    mfa_token_provider: MfaTokenProvider | None
    retry_mode: RetryMode
    max_attempts: int
    sts_cache_dir: str | None
    cache: CredentialCache | None
    shared_cache: bool


class SourceOptions(SeedOptions, total=False):
    """Every keyword of ``CredentialSource.from_options`` (and of ``connect``,
    ``create_engine`` and the pools when they build the source)."""

    cluster_id: str | None
    db_user: str | None
    duration_seconds: int


# -- the config file -------------------------------------------------------------------------


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
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigurationError(f"Cannot read {path}: {reason}. Fix the file.") from None
    except UnicodeDecodeError as error:
        raise ConfigurationError(
            f"{path} is not UTF-8 text (byte {error.start}). Save it as UTF-8."
        ) from None
    import tomllib  # only when there is a file: most commands run without one

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path} is not valid TOML: {error}. Fix the file.") from None
    except RecursionError:
        raise ConfigurationError(
            f"{path} nests arrays or tables too deeply to read. Fix the file."
        ) from None


def configured_targets(environ: Mapping[str, str]) -> list[str]:
    """The named targets of the config file, sorted; none if the file is missing or cannot
    be read (for shell completion, which must stay quiet)."""
    try:
        document = read_config(config_path(environ))
    except ConfigurationError:
        return []
    tables = (document or {}).get("targets")
    return sorted(tables) if isinstance(tables, dict) else []


def load_target(name: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``[targets.<name>]`` table, its keys checked against ``OPTIONS``."""
    path = config_path(environ)
    document = read_config(path)
    if document is None:
        raise ConfigurationError(
            f"Target {name!r} is not defined: {path} does not exist. Create it with a "
            f"[targets.{_plain(name)}] table, or give --cluster-id / --workgroup."
        )
    tables = document.get("targets", {})
    table = tables.get(name) if isinstance(tables, dict) else None
    if not isinstance(table, dict):
        known = (
            ", ".join(_plain(key) for key in sorted(tables))
            if isinstance(tables, dict) and tables
            else "none"
        )
        raise ConfigurationError(
            f"Target {name!r} is not defined in {path} (defined: {known}). Add a "
            f"[targets.{_plain(name)}] table or pick one of those."
        )
    known_keys = {key for option in OPTIONS for key in option.config_keys}
    unknown = sorted(set(table) - known_keys)
    if unknown:
        raise ConfigurationError(
            f"Unknown key(s) {', '.join(map(_plain, unknown))} in [targets.{_plain(name)}]; "
            f"known keys: {', '.join(option.name for option in OPTIONS)}."
        )
    return table


# -- one value from each layer ---------------------------------------------------------------

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _from_text(option: Option, raw: str, origin: str) -> object:
    """A value written as text (a ``REDSHIFT_EPHEMERAL_*`` variable, a URL's query parameter)
    as the option's kind; ``origin`` names where it was written, for the error."""
    text = raw.strip()
    if option.kind is OptionKind.SWITCH:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigurationError(f"Invalid value for {origin}: expected true or false.")
    if option.kind is OptionKind.NAMES:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if option.kind is OptionKind.NUMBER:
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(
                f"Invalid value for {origin}: expected a whole number."
            ) from None
    return raw


def _checked_type(option: Option, value: object, origin: str) -> object:
    """A config-file or program value of the option's type: numbers are numbers, switches
    booleans, names a list of strings (any iterable of strings from a program)."""
    if option.kind is OptionKind.SWITCH:
        valid, expected = isinstance(value, bool), "true or false"
    elif option.kind is OptionKind.NAMES:
        if isinstance(value, tuple | set | frozenset):
            value = list(value)
        valid = isinstance(value, list) and all(isinstance(item, str) for item in value)
        expected = 'a list of names, e.g. ["analysts"]'
    elif option.kind is OptionKind.NUMBER:
        valid = isinstance(value, int) and not isinstance(value, bool)
        expected = "a whole number"
    else:
        valid, expected = isinstance(value, str), "a quoted string"
        if option.keyword == "role_arn" and isinstance(value, list | tuple):
            # A program may give a chain of roles, assumed in order.
            value = list(value)
            valid = all(isinstance(item, str) for item in value)
            expected = "a role ARN or a list of them"
    if not valid:
        raise ConfigurationError(f"Invalid value for {origin}: expected {expected}.")
    return value


def _plain(text: str) -> str:
    """``text`` for an error message: as it is if printable, else quoted and escaped, so a
    message stays on its line."""
    return text if text.isprintable() else repr(text)


def _plain_text(value: object, origin: str) -> object:
    """Refuse blank text, control characters (NUL, line breaks, escapes) and unpaired
    surrogates in a text value: no name, path, URL or profile is blank or contains one (a
    blank one would silently mean "the default"), and NUL cannot even reach the system."""
    for text in value if isinstance(value, list) else [value]:
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


Layer = dict[str, object]  # option keyword → value


def explicit_layer(values: Mapping[str, object]) -> Layer:
    """Values given explicitly (flags, or a program's keyword arguments); None means not
    given."""
    layer: Layer = {}
    for keyword, value in values.items():
        option = OPTION_BY_KEYWORD.get(keyword)
        if option is None or value is None:
            continue
        origin = f"{option.flag} ({option.keyword})"
        layer[keyword] = _plain_text(_checked_type(option, value, origin), origin)
    return layer


def environment_layer(environ: Mapping[str, str]) -> Layer:
    return {
        option.keyword: _plain_text(_from_text(option, environ[option.env], option.env), option.env)
        for option in OPTIONS
        if environ.get(option.env)  # an empty variable counts as unset, as in a shell
    }


OPTION_BY_CONFIG_KEY = {key: option for option in OPTIONS for key in option.config_keys}


def text_layer(values: Mapping[str, Sequence[str]], where: str) -> Layer:
    """Options written as text under their config keys (``db_group``, ``duration``), as in a
    URL's query string, each key with the values it was given: option keyword → value of
    the option's kind, for ``from_config`` / ``from_target``. A list option may be repeated
    (``db_group=a&db_group=b``) or comma-separated; any other option given twice is an
    error. Every key must be a config key (the caller keeps its other keys out)."""
    layer: Layer = {}
    for key, texts in values.items():
        option = OPTION_BY_CONFIG_KEY[key]
        origin = f"{_plain(key)} in {where}"
        once = len(texts) == 1 and option.keyword not in layer  # not under both spellings
        if option.kind is not OptionKind.NAMES and not once:
            raise ConfigurationError(f"{option.name} is given more than once in {where}.")
        for text in texts:
            value = _plain_text(_from_text(option, text, origin), origin)
            if option.kind is OptionKind.NAMES:
                names = layer.setdefault(option.keyword, [])
                assert isinstance(names, list)
                names.extend(value if isinstance(value, list) else [value])
            else:
                layer[option.keyword] = value
    return layer


def config_layer(table: Mapping[str, object], target: str) -> Layer:
    layer: Layer = {}
    for option in OPTIONS:
        for key in option.config_keys:
            if key in table:
                origin = f"{_plain(key)} in [targets.{_plain(target)}]"
                value = _checked_type(option, table[key], origin)
                layer[option.keyword] = _plain_text(value, origin)
                break
    return layer


def settings_value(option: Option, value: object, origin: str) -> object:
    """A value from another tool's settings (an Airflow connection's extras, which are JSON
    that a form may have filled with text): text is read as the option's environment
    variable would be (``"1800"``, ``"true"``, ``"analysts,etl"``), anything else as in the
    config file. Checked by type and for blank or control characters, not yet by the
    option's rule (``resolve`` applies it)."""
    if isinstance(value, str) and option.kind is not OptionKind.TEXT:
        value = _from_text(option, value, origin)
    return _plain_text(_checked_type(option, value, origin), origin)


def _names_target(layer: Layer) -> bool:
    return any(
        OPTION_BY_KEYWORD[keyword].names_target and value is not False
        for keyword, value in layer.items()
    )


def resolve(
    explicit: Mapping[str, Any],
    *,
    target: str | None = None,
    environ: Mapping[str, str],
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``CredentialSource.from_options``: explicit values > environment
    > the named target's table > ``defaults``, each value checked by its option's rule.
    Keywords that are not ``OPTIONS`` (a boto3 session, a cache...) pass through as they
    are."""
    table = load_target(target, environ) if target is not None else {}
    layers = [
        explicit_layer(explicit),
        environment_layer(environ),
        config_layer(table, target or ""),
        explicit_layer(defaults or {}),
    ]
    naming = next((layer for layer in layers if _names_target(layer)), {})
    resolved: dict[str, Any] = {
        keyword: value
        for keyword, value in explicit.items()
        if keyword not in OPTION_BY_KEYWORD and value is not None
    }
    for option in OPTIONS:
        for layer in [naming] if option.names_target else layers:
            if option.keyword in layer:
                value = layer[option.keyword]
                option.check_value(value)
                resolved[option.keyword] = value
                break
    if "role_arn" in resolved and "sts_cache_dir" not in resolved:
        resolved["sts_cache_dir"] = str(default_sts_cache_dir(environ))
    return resolved


def default_sts_cache_dir(environ: Mapping[str, str]) -> Path:
    """The AWS CLI's own STS cache: a role (and its MFA code) is asked for once per session,
    not once per command, and shared with ``aws``."""
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".aws" / "cli" / "cache"


# -- documentation ---------------------------------------------------------------------------


def options_table() -> str:
    """README's table of options (Markdown), one row per option."""
    rows = [
        "| keyword | flag | environment | config key | value |",
        "|---|---|---|---|---|",
    ]
    for option in OPTIONS:
        rows.append(
            f"| `{option.keyword}` | `{option.flag}` | `{option.env}` | `{option.name}` | "
            f"{option.kind.value}: {option.help} |"
        )
    for keyword, text in PROGRAM_ONLY_OPTIONS.items():
        rows.append(f"| `{keyword}` | | | | Python only: {text} |")
    return "\n".join(rows)
