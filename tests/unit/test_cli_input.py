"""Property-based: every invalid flag, environment or config value exits 2 with a one-line
error, never a traceback, never an AWS call."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from hypothesis import event, given, settings
from hypothesis import strategies as st

from redshift_ephemeral import ConfigurationError
from redshift_ephemeral.cli.main import build_parser, main
from redshift_ephemeral.config import OPTIONS, Option, OptionKind
from redshift_ephemeral.targets import (
    validate_cluster_identifier,
    validate_db_group,
    validate_db_name,
    validate_db_user,
    validate_workgroup_name,
)
from redshift_ephemeral.tls import ALLOWED_MODES


def rejected_by(validator: Callable[[str], str]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            validator(value)
        except ConfigurationError:
            return True
        return False

    return check


# Values argv and environ can carry: no NUL, no surrogates.
printable = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=80
)
bad_cluster = printable.filter(rejected_by(validate_cluster_identifier)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_workgroup = printable.filter(rejected_by(validate_workgroup_name)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_user = printable.filter(rejected_by(validate_db_user)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_database = printable.filter(rejected_by(validate_db_name)).filter(
    lambda v: not v.startswith("-") and v != ""
)
bad_group = printable.filter(rejected_by(validate_db_group)).filter(
    lambda v: not v.startswith("-") and "," not in v and v.strip() != ""
)
bad_duration = st.one_of(st.integers(max_value=899), st.integers(min_value=3601)).map(str)
bad_sslmode = printable.filter(
    lambda v: v not in ALLOWED_MODES and not v.startswith("-") and v != ""
)
bad_port = st.one_of(st.integers(max_value=0), st.integers(min_value=65536)).map(str)

INVALID_FLAGS = st.one_of(
    bad_cluster.map(lambda v: ["--cluster-id", v, "--db-user", "alice"]),
    bad_workgroup.map(lambda v: ["--workgroup", v]),
    bad_user.map(lambda v: ["--cluster-id", "demo", "--db-user", v]),
    bad_database.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--database", v]),
    bad_group.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--db-group", v]),
    bad_duration.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", f"--duration={v}"]),
    bad_sslmode.map(lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--sslmode", v]),
    bad_port.map(
        lambda v: ["--cluster-id", "demo", "--db-user", "alice", "--host", "h", f"--port={v}"]
    ),
    printable.filter(lambda v: not v.lstrip("-+").isdigit()).map(
        lambda v: ["--cluster-id", "demo", "--db-user", "alice", f"--duration={v}"]
    ),
)
INVALID_ENVIRONMENT = st.one_of(
    bad_cluster.map(
        lambda v: {"REDSHIFT_EPHEMERAL_CLUSTER_ID": v, "REDSHIFT_EPHEMERAL_DB_USER": "alice"}
    ),
    bad_user.map(
        lambda v: {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo", "REDSHIFT_EPHEMERAL_DB_USER": v}
    ),
    bad_duration.map(
        lambda v: {
            "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo",
            "REDSHIFT_EPHEMERAL_DB_USER": "alice",
            "REDSHIFT_EPHEMERAL_DURATION": v,
        }
    ),
    printable.filter(
        lambda v: v.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", "")
    ).map(
        lambda v: {
            "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo",
            "REDSHIFT_EPHEMERAL_DB_USER": "a",
            "REDSHIFT_EPHEMERAL_AUTO_CREATE": v,
        }
    ),
    bad_sslmode.map(
        lambda v: {"REDSHIFT_EPHEMERAL_WORKGROUP": "demo-wg", "REDSHIFT_EPHEMERAL_SSLMODE": v}
    ),
)


class TomlLiteral(str):
    """A value written into the TOML file as it is (a generated string is quoted: ``'A'``
    written as it is would be the valid user name A)."""


TOML_VALUES = st.one_of(
    bad_cluster.map(lambda v: ("cluster_id", v)),
    bad_user.map(lambda v: ("db_user", v)),
    st.one_of(st.integers(max_value=899), st.integers(min_value=3601)).map(
        lambda v: ("duration", v)
    ),
    st.sampled_from(
        [
            ("duration", TomlLiteral("'900'")),
            ("db_group", TomlLiteral("[1, 2]")),
            ("port", TomlLiteral("true")),
            ("cluster-id", TomlLiteral("42")),
            ("nonsense_key", TomlLiteral("'x'")),
        ]
    ),
)


def run_cli(argv: list[str], environ: dict[str, str]) -> tuple[int, str]:
    stderr = io.StringIO()
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("REDSHIFT_EPHEMERAL_", "AWS_"))
    }
    # No AWS call can happen: a fake endpoint nobody listens on would fail with exit 3.
    clean |= {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        **environ,
    }
    with (
        mock.patch.dict(os.environ, clean, clear=True),
        contextlib.redirect_stderr(stderr),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse exits on usage errors
            code = int(exit_.code or 0)
    return code, stderr.getvalue()


def assert_plain_usage_error(code: int, stderr: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, stderr


@settings(max_examples=150, deadline=None)
@given(INVALID_FLAGS)
def test_invalid_flags_exit_2_with_one_plain_line(argv: list[str]) -> None:
    assert_plain_usage_error(*run_cli(["creds", *argv], {}))


@settings(max_examples=100, deadline=None)
@given(INVALID_ENVIRONMENT)
def test_invalid_environment_values_exit_2(environ: dict[str, str]) -> None:
    assert_plain_usage_error(*run_cli(["creds"], environ))


@settings(max_examples=60, deadline=None)
@given(TOML_VALUES)
def test_invalid_config_values_exit_2(entry: tuple[str, object]) -> None:
    key, value = entry
    rendered = (
        value
        if isinstance(value, int | TomlLiteral)
        else ('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    )
    with tempfile.TemporaryDirectory() as config_home:
        path = Path(config_home) / "redshift-ephemeral" / "config.toml"
        path.parent.mkdir()
        extra = "" if key in ("cluster_id", "cluster-id") else 'cluster_id = "demo"\n'
        user = "" if key == "db_user" else 'db_user = "alice"\n'
        path.write_text(f"[targets.t]\n{extra}{user}{key} = {rendered}\n", encoding="utf-8")
        code, stderr = run_cli(["creds", "t"], {"XDG_CONFIG_HOME": config_home})
    assert_plain_usage_error(code, stderr)


def test_unknown_named_target_exits_2(tmp_path: Path) -> None:
    code, stderr = run_cli(["creds", "nowhere"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert_plain_usage_error(code, stderr)
    assert "nowhere" in stderr


@pytest.mark.parametrize(
    "argv",
    [["creds", "--format", "xml"], ["nosuchcommand"], ["exec", "--db-user", "alice"], ["query"]],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert_plain_usage_error(*run_cli(argv, {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"}))


def test_a_role_uses_the_aws_clis_sts_cache() -> None:
    from redshift_ephemeral.config import resolve

    role = "arn:aws:iam::123456789012:role/reader"
    resolved = resolve({"cluster_id": "demo", "role_arn": role}, environ={"HOME": "/home/u"})
    assert resolved["role_arn"] == role
    assert resolved["sts_cache_dir"] == "/home/u/.aws/cli/cache"
    assert "sts_cache_dir" not in resolve({"cluster_id": "demo"}, environ={})


# -- every option, variable and config key, from config.OPTIONS ---- -------------------------
#
# Arbitrary values go to every option in each layer (flags, REDSHIFT_EPHEMERAL_* variables,
# config.toml, including hostile TOML). Whatever they are, a run ends with a documented exit
# code and at most two plain lines, never a traceback; and an AWS request leaves only for
# values an independent oracle finds plausible. botocore's ``Endpoint.make_request`` is
# replaced by a recorder that answers AccessDenied, so nothing leaves the machine.

OPTION_BY_NAME = {option.name: option for option in OPTIONS}
DOCUMENTED_EXIT_CODES = {0, 2, 3, 4}
# What argv can carry in-process: anything but NUL. The environment holds bytes: any text
# but NUL and surrogates, or undecodable bytes as Python sees them (surrogate escapes).
argv_text = st.text(st.characters(blacklist_characters="\0"), max_size=30)
env_text = st.one_of(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=30),
    st.binary(max_size=20).filter(lambda raw: b"\0" not in raw).map(os.fsdecode),
)
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _is_host(value: str) -> bool:
    """Independent of ``targets.validate_host``: an IP literal or RFC 1123 labels."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(value.strip("[]"))
        return "%" not in value
    labels = value.removesuffix(".").split(".")
    return (
        len(value) <= 254
        and all(_DNS_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _whole_number_in(value: object, low: int, high: int) -> bool:
    try:
        number = int(str(value).strip())
    except ValueError:
        return False
    return low <= number <= high


PLAUSIBLE: dict[str, Callable[[object], bool]] = {
    "host": lambda v: _is_host(str(v)),
    "port": lambda v: _whole_number_in(v, 1, 65535),
    "duration": lambda v: _whole_number_in(v, 900, 3600),
    "profile": lambda v: False,  # the sandbox has no AWS profiles
    "endpoint_url": lambda v: str(v).startswith(("http://", "https://")),
    "sslmode": lambda v: v in ALLOWED_MODES,
    "sslrootcert": lambda v: Path(str(v)).is_file(),
    "cluster_id": lambda v: re.fullmatch(r"[a-z][a-z0-9-]{0,62}", str(v)) is not None,
    "workgroup": lambda v: re.fullmatch(r"[a-z0-9-]{3,64}", str(v)) is not None,
    "region": lambda v: re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", str(v)) is not None,
    "role_arn": lambda v: str(v).startswith("arn:aws"),
}


def plausible(dest: str, value: object) -> bool:
    """Could AWS be asked with this value? No for text with control characters or nothing
    but blanks, and for anything the option's own oracle rejects."""
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str) and (
            not text.strip() or any(unicodedata.category(c) in ("Cc", "Cs") for c in text)
        ):
            return False
    check = PLAUSIBLE.get(dest)
    return check is None or all(check(text) for text in texts)


class AwsRecorder:
    """Stands in for botocore's HTTP send: records the operation, answers AccessDenied."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def __call__(self, operation_model: Any, _request: object) -> NoReturn:
        self.operations.append(operation_model.name)
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "recorded, not sent"}},
            operation_model.name,
        )


def run_hermetic(argv: list[str], environ: dict[str, str]) -> tuple[int, str, list[str]]:
    recorder = AwsRecorder()
    with tempfile.TemporaryDirectory() as home:
        isolated = {
            "HOME": home,
            "AWS_CONFIG_FILE": f"{home}/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": f"{home}/aws-credentials",
            "XDG_CONFIG_HOME": home,
            "XDG_CACHE_HOME": home,
            "XDG_RUNTIME_DIR": home,
        }
        with (
            # A plain attribute, not a method: the recorder is called without the endpoint.
            mock.patch("botocore.endpoint.Endpoint.make_request", recorder),
            mock.patch("getpass.getpass", return_value="123456"),  # an MFA code, if asked
        ):
            code, stderr = run_cli(argv, isolated | environ)
    return code, stderr, recorder.operations


def test_a_valid_request_reaches_the_recorder_not_the_network() -> None:
    code, stderr, operations = run_hermetic(["creds", "--cluster-id", "demo"], {})
    assert code == 3, stderr
    assert operations[0] == "DescribeClusters"
    assert "AWS denied redshift:DescribeClusters" in stderr


def assert_documented_outcome(code: int, stderr: str) -> None:
    assert code in DOCUMENTED_EXIT_CODES, stderr
    assert "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) <= 2, stderr


def as_flag(option: Option, value: str) -> list[str]:
    if option.kind is OptionKind.SWITCH:
        return [option.flag]
    return [f"{option.flag}={value}"]  # '=' keeps a value starting with '-' a value


# Values that pass some rules, so runs also get past validation and combinations matter.
NEAR_VALID = st.sampled_from(
    [
        "demo",
        "demo-wg",
        "alice",
        "analysts",
        "dev",
        "us-east-1",
        "localhost",
        "::1",
        "5439",
        "900",
        "verify-ca",
        "http://127.0.0.1:9",
        "arn:aws:iam::123456789012:role/reader",
        "arn:aws:iam::123456789012:mfa/alice",
        "ext-id-1",
        "/etc/hostname",
    ]
)


def values_for(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[Option, str]]:
    return st.dictionaries(
        st.sampled_from(OPTIONS), st.one_of(text, NEAR_VALID), min_size=1, max_size=3
    )


def assert_invalid_input_never_reaches_aws(
    values: Mapping[str, object], code: int, stderr: str, operations: list[str]
) -> None:
    """A value the oracle calls implausible is a configuration error (exit 2) found before
    any AWS call; and an exit 2 never follows one."""
    implausible = {dest: value for dest, value in values.items() if not plausible(dest, value)}
    if implausible:
        assert code == 2, (implausible, stderr)
    if code == 2:
        assert operations == [], (values, operations)


# What the flags are added to: a cluster, and sometimes a role (so the role's options count).
BASES = st.sampled_from(
    [
        {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"},
        {
            "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo",
            "REDSHIFT_EPHEMERAL_ROLE_ARN": "arn:aws:iam::123456789012:role/reader",
        },
    ]
)
BLANKS = st.sampled_from(["", " ", "\t"])


@settings(max_examples=200, deadline=None)
@given(values_for(st.one_of(argv_text, BLANKS)), BASES)
def test_any_flag_values_end_in_a_documented_way(
    values: dict[Option, str], base: dict[str, str]
) -> None:
    argv = ["creds"] + [part for option, value in values.items() for part in as_flag(option, value)]
    code, stderr, operations = run_hermetic(argv, base)
    assert_documented_outcome(code, stderr)
    event(f"exit {code}, aws={bool(operations)}")
    given_values = {o.name: v for o, v in values.items() if o.kind is not OptionKind.SWITCH}
    assert_invalid_input_never_reaches_aws(given_values, code, stderr, operations)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(OPTIONS), st.one_of(argv_text, NEAR_VALID, BLANKS), BASES)
def test_each_option_alone_ends_in_a_documented_way(
    option: Option, value: str, base: dict[str, str]
) -> None:
    inner = test_any_flag_values_end_in_a_documented_way.hypothesis.inner_test  # type: ignore[attr-defined]
    inner({option: value}, base)


@settings(max_examples=200, deadline=None)
@given(values_for(env_text))
def test_any_environment_values_end_in_a_documented_way(values: dict[Option, str]) -> None:
    environ = {option.env: value for option, value in values.items()}
    environ.setdefault("REDSHIFT_EPHEMERAL_CLUSTER_ID", "demo")
    code, stderr, operations = run_hermetic(["creds"], environ)
    assert_documented_outcome(code, stderr)
    event(f"exit {code}, aws={bool(operations)}")
    # Flags and lists are parsed from text first; an empty variable counts as unset.
    given_values = {
        o.name: v
        for o, v in values.items()
        if o.kind not in (OptionKind.SWITCH, OptionKind.NAMES) and v
    }
    assert_invalid_input_never_reaches_aws(given_values, code, stderr, operations)


# TOML values of every type, nested, rendered as TOML text.
toml_scalars = st.one_of(
    st.one_of(argv_text, NEAR_VALID).map(
        json.dumps
    ),  # JSON's escapes are all valid in a TOML basic string
    st.integers().map(str),
    st.floats().map(repr),  # inf and nan are TOML's words too
    st.booleans().map(lambda b: "true" if b else "false"),
    st.sampled_from(["1979-05-27T07:32:00Z", "07:32:00", "'literal'", "'''multi\nline'''"]),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=2).map(
            lambda table: "{" + ", ".join(f"{k} = {v}" for k, v in table.items()) + "}"
        ),
    ),
    max_leaves=6,
)
config_keys = st.one_of(
    st.sampled_from([key for o in OPTIONS for key in o.config_keys]),
    argv_text.map(json.dumps),
)
NAMING_KEYS = {"cluster_id", "cluster-id", "workgroup", "custom_domain", "custom-domain"}


def config_document(entries: dict[str, str]) -> str:
    """A ``[targets.t]`` table; a valid cluster unless the entries name the target, so the
    other values are what decides the outcome."""
    if not NAMING_KEYS & set(entries):
        entries = {"cluster_id": '"demo"', **entries}
    return "[targets.t]\n" + "".join(f"{key} = {value}\n" for key, value in entries.items())


structured_config = st.dictionaries(config_keys, toml_values, max_size=4).map(config_document)
hostile_config = st.one_of(
    structured_config.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.text(max_size=60).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(1, 3000).map(lambda depth: b"[targets.t]\nx = " + b"[" * depth + b"]" * depth),
)


@settings(max_examples=150, deadline=None)
@given(hostile_config)
def test_any_config_file_ends_in_a_documented_way(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as config_home:
        path = Path(config_home) / "redshift-ephemeral" / "config.toml"
        path.parent.mkdir()
        path.write_bytes(content)
        code, stderr, operations = run_hermetic(["creds", "t"], {"XDG_CONFIG_HOME": config_home})
        assert_documented_outcome(code, stderr)
        event(f"exit {code}, aws={bool(operations)}")
        if code == 2:
            assert operations == []
        if operations:  # the file was read; every value that reached AWS was plausible
            table = tomllib.loads(content.decode())["targets"]["t"]
            given_values = {
                key.replace("-", "_"): value
                for key, value in table.items()
                if key.replace("-", "_") in OPTION_BY_NAME
                and OPTION_BY_NAME[key.replace("-", "_")].kind is not OptionKind.SWITCH
            }
            assert_invalid_input_never_reaches_aws(given_values, code, stderr, operations)


def test_every_option_is_reachable_from_flags_environment_and_config() -> None:
    """The properties above draw from config.OPTIONS: a new option is fuzzed without a change
    here."""
    parser = build_parser(only="creds").commands["creds"]
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {option.flag for option in OPTIONS} <= flags
    assert len({option.env for option in OPTIONS}) == len(OPTIONS)


@settings(max_examples=100, deadline=None)
@given(argv_text.filter(lambda name: not name.startswith("-")))
def test_any_target_name_ends_in_a_documented_way(name: str) -> None:
    with tempfile.TemporaryDirectory() as config_home:
        path = Path(config_home) / "redshift-ephemeral" / "config.toml"
        path.parent.mkdir()
        path.write_text('[targets.t]\ncluster_id = "demo"\n', encoding="utf-8")
        code, stderr, operations = run_hermetic(["creds", name], {"XDG_CONFIG_HOME": config_home})
    assert_documented_outcome(code, stderr)
    if name not in ("t", ""):
        assert (code, operations) == (2, [])
