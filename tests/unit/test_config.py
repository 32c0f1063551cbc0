"""config.py: each option declared once, and the precedence explicit > environment > config
file that the CLI and ``CredentialSource.from_config`` / ``from_target`` share."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from redshift_ephemeral import (
    ConfigurationError,
    CredentialSource,
    Deployment,
    connect,
    generate_redshift_credentials,
)
from redshift_ephemeral.config import (
    OPTIONS,
    PROGRAM_ONLY_OPTIONS,
    OptionKind,
    SeedOptions,
    SourceOptions,
    configured_targets,
    options_table,
    resolve,
)

README = Path(__file__).parents[2] / "README.md"
ROLE = "arn:aws:iam::123456789012:role/reader"


def write_config(home: Path, text: str) -> dict[str, str]:
    path = home / "redshift-ephemeral" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return {"XDG_CONFIG_HOME": str(home)}


# -- one declaration ---------------------------------------------------------------------------

ANNOTATION_OF_KIND = {
    OptionKind.TEXT: "str | None",
    OptionKind.NUMBER: "int | None",
    OptionKind.SWITCH: "bool",
    OptionKind.NAMES: "Iterable[str]",
}
ANNOTATION_EXCEPTIONS = {
    "duration_seconds": "int",  # never None: it has a default
    "sslmode": "str",
    "role_arn": "str | Iterable[str] | None",  # a program may give a chain of roles
}


def annotation(name: str) -> str:
    forward = SourceOptions.__annotations__[name]
    return str(getattr(forward, "__forward_arg__", forward))


def test_the_typed_options_are_exactly_the_declared_ones_with_their_kinds() -> None:
    declared = {option.keyword for option in OPTIONS} | set(PROGRAM_ONLY_OPTIONS)
    assert set(SourceOptions.__optional_keys__) == declared
    assert not SourceOptions.__required_keys__
    for option in OPTIONS:
        expected = ANNOTATION_EXCEPTIONS.get(option.keyword, ANNOTATION_OF_KIND[option.kind])
        assert annotation(option.keyword) == expected, option.keyword


def test_the_seed_functions_take_every_option_but_their_own_positionals() -> None:
    positional = {"db_user", "cluster_id", "duration_seconds"}
    assert set(SeedOptions.__optional_keys__) == set(SourceOptions.__optional_keys__) - positional
    assert "SeedOptions" in generate_redshift_credentials.__annotations__["options"]


def test_flags_variables_and_config_keys_are_derived_from_the_name() -> None:
    groups = next(option for option in OPTIONS if option.keyword == "db_groups")
    assert (groups.flag, groups.env, groups.config_keys) == (
        "--db-group",
        "REDSHIFT_EPHEMERAL_DB_GROUP",
        ("db_group", "db-group"),
    )
    assert len({option.flag for option in OPTIONS}) == len(OPTIONS)


def test_readme_lists_exactly_the_declared_options() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- options:begin -->\n(.*?)\n<!-- options:end -->", text, re.DOTALL)
    assert match is not None, "README lacks the options table markers"
    assert match.group(1) == options_table(), (
        "README's options table is stale: paste redshift_ephemeral.config.options_table()"
    )


def test_an_unknown_keyword_is_refused_as_an_explicit_signature_would() -> None:
    with pytest.raises(TypeError, match="clusterid"):
        CredentialSource.from_options(clusterid="demo")  # type: ignore[call-arg]


def test_mypy_checks_the_source_options_of_connect() -> None:
    # mypy --strict (run by CI) fails on an ignore it does not need: these two lines prove
    # that it rejects a misspelt option and a wrong type before anything runs.
    with pytest.raises(TypeError):
        connect(clusterid="demo")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError):
        connect(cluster_id="demo", port="5439", host="localhost")  # type: ignore[arg-type]


# -- precedence ----------------------------------------------------------------------------------


def test_explicit_beats_environment_beats_config(tmp_path: Path) -> None:
    environ = write_config(
        tmp_path, '[targets.reports]\ncluster_id = "demo"\ndb_user = "bob"\nduration = 1200\n'
    )
    assert CredentialSource.from_target("reports", environ=environ).request.db_user == "bob"
    environ["REDSHIFT_EPHEMERAL_DB_USER"] = "alice"
    source = CredentialSource.from_target("reports", environ=environ)
    assert (source.request.db_user, source.request.duration_seconds) == ("alice", 1200)
    source = CredentialSource.from_target("reports", environ=environ, db_user="carol")
    assert source.request.db_user == "carol"


def test_the_target_is_named_whole_by_one_layer() -> None:
    environ = {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"}
    source = CredentialSource.from_config(environ=environ, workgroup="demo-wg")
    assert source.request.target.deployment is Deployment.SERVERLESS
    assert source.request.target.name == "demo-wg"


def test_a_switch_given_as_false_does_not_name_the_target() -> None:
    environ = {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"}
    source = CredentialSource.from_config(environ=environ, serverless=False)
    assert source.request.target.name == "demo"


def test_from_config_reads_what_local_env_exports(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until a connection is made")
    environ = {
        "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo-cluster",
        "REDSHIFT_EPHEMERAL_SSLROOTCERT": str(ca),
    }
    source = CredentialSource.from_config(environ=environ, db_user="alice")
    assert source.request.target.name == "demo-cluster"
    assert source.tls.sslrootcert == str(ca)


def test_from_config_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDSHIFT_EPHEMERAL_WORKGROUP", "demo-wg")
    assert CredentialSource.from_config().request.target.name == "demo-wg"


def test_none_counts_as_not_given_and_program_objects_pass_through() -> None:
    environ = {"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo", "REDSHIFT_EPHEMERAL_DB_USER": "alice"}
    resolved = resolve({"db_user": None, "max_attempts": 2}, environ=environ)
    assert resolved == {"cluster_id": "demo", "db_user": "alice", "max_attempts": 2}


def test_a_program_value_is_held_to_the_same_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="control character"):
        CredentialSource.from_config(environ={}, cluster_id="demo", profile="a\nb")
    with pytest.raises(ConfigurationError, match="list of names"):
        CredentialSource.from_config(environ={}, cluster_id="demo", db_groups="analysts")
    source = CredentialSource.from_config(
        environ={}, cluster_id="demo", db_user="alice", db_groups=("analysts",)
    )
    assert source.request.db_groups == ("analysts",)


def test_each_option_s_rule_runs_on_the_layer_that_won() -> None:
    with pytest.raises(ConfigurationError, match="900-3600"):
        resolve({"duration_seconds": 60}, environ={"REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"})


def test_a_role_from_config_uses_the_aws_clis_sts_cache_unless_told_otherwise() -> None:
    environ = {"HOME": "/home/u", "REDSHIFT_EPHEMERAL_CLUSTER_ID": "demo"}
    source = CredentialSource.from_config(environ=environ, role_arn=ROLE)
    assert source.identity.sts_cache_dir == "/home/u/.aws/cli/cache"
    source = CredentialSource.from_config(environ=environ, role_arn=ROLE, sts_cache_dir="/c")
    assert source.identity.sts_cache_dir == "/c"
    assert CredentialSource.from_config(environ=environ).identity.sts_cache_dir is None


def test_a_role_chain_may_be_written_in_the_config_file(tmp_path: Path) -> None:
    second = "arn:aws:iam::210987654321:role/writer"
    environ = write_config(
        tmp_path, f'[targets.t]\ncluster_id = "demo"\nrole-arn = ["{ROLE}", "{second}"]\n'
    )
    source = CredentialSource.from_target("t", environ=environ)
    assert [role.arn for role in source.identity.roles] == [ROLE, second]


def test_an_unknown_target_names_the_defined_ones(tmp_path: Path) -> None:
    environ = write_config(tmp_path, '[targets.a]\ncluster_id = "demo"\n')
    with pytest.raises(ConfigurationError, match=r"defined: a\)"):
        CredentialSource.from_target("b", environ=environ)


# -- completion ----------------------------------------------------------------------------------


def test_configured_targets_lists_the_tables(tmp_path: Path) -> None:
    environ = write_config(tmp_path, '[targets.b]\nx = 1\n[targets.a]\ncluster_id = "demo"\n')
    assert configured_targets(environ) == ["a", "b"]


@pytest.mark.parametrize("content", [b"\xff", b"[targets", b"targets = 1"])
def test_configured_targets_is_quiet_about_a_broken_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "redshift-ephemeral" / "config.toml"
    path.parent.mkdir()
    path.write_bytes(content)
    assert configured_targets({"XDG_CONFIG_HOME": str(tmp_path)}) == []


def test_completion_reads_the_config_through_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from redshift_ephemeral import config
    from redshift_ephemeral.cli.main import main

    calls: list[Path] = []
    read = config.read_config

    def recording_read(path: Path) -> dict[str, object] | None:
        calls.append(path)
        return read(path)

    monkeypatch.setattr(config, "read_config", recording_read)
    (tmp_path / "redshift-ephemeral" / "config.toml").mkdir(parents=True)  # not a file
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["completion", "--targets"]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert calls == [tmp_path / "redshift-ephemeral" / "config.toml"]
