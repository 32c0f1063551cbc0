"""Targets, names and modes: every rule of docs/design.md's "Bad input and faults" (names,
conflicts), checked before any AWS call."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from enum import Enum

import pytest

from redshift_ephemeral import ConfigurationError, CredentialSource
from redshift_ephemeral.credentials import Credential
from redshift_ephemeral.secret import Secret
from redshift_ephemeral.targets import (
    ConnectAddress,
    CredentialRequest,
    Deployment,
    Operation,
    Target,
    parse_redshift_hostname,
)


class CountingIssuer:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: CredentialRequest) -> Credential:
        self.calls += 1
        raise AssertionError("no AWS call may be made for an invalid request")


INVALID_OPTIONS: list[tuple[dict[str, object], str]] = [
    ({"cluster_id": "demo", "db_user": "alice", "duration_seconds": 899}, "900-3600"),
    ({"cluster_id": "demo", "db_user": "alice", "duration_seconds": 3601}, "900-3600"),
    ({"cluster_id": "Demo", "db_user": "alice"}, "lowercase"),
    ({"cluster_id": "1demo", "db_user": "alice"}, "starts with a letter"),
    ({"cluster_id": "demo--x", "db_user": "alice"}, "two consecutive hyphens"),
    ({"cluster_id": "demo-", "db_user": "alice"}, "trailing hyphen"),
    ({"cluster_id": "d" * 64, "db_user": "alice"}, "1-63"),
    ({"workgroup": "wg"}, "3-64"),
    ({"workgroup": "Work_group"}, "lowercase letters, digits or hyphens"),
    ({"cluster_id": "demo", "db_user": "1alice"}, "start with a letter"),
    ({"cluster_id": "demo", "db_user": "al:ice"}, "':' or '/'"),
    ({"cluster_id": "demo", "db_user": "al/ice"}, "':' or '/'"),
    ({"cluster_id": "demo", "db_user": "a" * 65}, "1-64"),
    ({"cluster_id": "demo", "db_user": "PUBLIC"}, "PUBLIC"),
    ({"cluster_id": "demo", "db_user": "select"}, "reserved word"),
    ({"cluster_id": "demo", "db_user": "alice", "database": "my db"}, "start with a letter"),
    ({"cluster_id": "demo", "db_user": "alice", "database": "table"}, "reserved word"),
    ({"cluster_id": "demo", "db_user": "alice", "db_groups": ["Analysts"]}, "lowercase letters"),
    ({"cluster_id": "demo", "db_user": "alice", "db_groups": ["group"]}, "reserved word"),
    ({"cluster_id": "demo", "workgroup": "demo-wg"}, "either a provisioned cluster"),
    ({}, "No target given"),
    ({"cluster_id": "demo", "db_groups": ["analysts"]}, "GetClusterCredentialsWithIAM takes none"),
    ({"cluster_id": "demo", "auto_create": True}, "GetClusterCredentialsWithIAM takes no such"),
    ({"workgroup": "demo-wg", "db_user": "alice"}, "serverless workgroup"),
    ({"workgroup": "demo-wg", "db_groups": ["analysts"]}, "GetCredentials takes none"),
    ({"cluster_id": "demo", "db_user": "alice", "sslmode": "prefer"}, "refused"),
    ({"cluster_id": "demo", "db_user": "alice", "sslmode": "disable"}, "refused"),
    ({"cluster_id": "demo", "db_user": "alice", "region": "mars"}, "region code"),
    ({"cluster_id": "demo", "db_user": "alice", "port": 5439}, "without a host"),
    ({"host": "db.example.com", "db_user": "alice"}, "does not name a cluster or workgroup"),
    ({"cluster_id": "demo", "db_user": "alice", "role_arn": "not-an-arn"}, "role ARN"),
]


@pytest.mark.parametrize(("options", "rule"), INVALID_OPTIONS)
def test_invalid_input_is_rejected_naming_the_rule_with_no_aws_call(
    options: dict[str, object], rule: str
) -> None:
    issuer = CountingIssuer()
    with pytest.raises(ConfigurationError, match=None) as caught:
        source = CredentialSource.from_options(**options)  # type: ignore[arg-type]
        CredentialSource(source.request, source.identity, source.tls, issuer=issuer).get()
    assert rule in str(caught.value)
    assert issuer.calls == 0


def test_mode_follows_the_target_and_the_database_user() -> None:
    cluster = Target.cluster("demo")
    assert (
        CredentialRequest(cluster, db_user="alice").operation is Operation.GET_CLUSTER_CREDENTIALS
    )
    assert CredentialRequest(cluster).operation is Operation.GET_CLUSTER_CREDENTIALS_WITH_IAM
    workgroup = Target.workgroup("demo-wg")
    assert CredentialRequest(workgroup).operation is Operation.SERVERLESS_GET_CREDENTIALS


def test_groups_and_auto_create_are_allowed_with_a_database_user() -> None:
    request = CredentialRequest(
        Target.cluster("demo"),
        db_user="alice",
        db_groups=("analysts", "etl.team"),
        auto_create=True,
    )
    assert request.db_groups == ("analysts", "etl.team")


def test_standard_provisioned_hostname_gives_cluster_and_region() -> None:
    parsed = parse_redshift_hostname("demo-cluster.cq1x2y3z4abc.eu-west-1.redshift.amazonaws.com")
    assert parsed is not None
    assert (parsed.deployment, parsed.name, parsed.region) == (
        Deployment.PROVISIONED,
        "demo-cluster",
        "eu-west-1",
    )


def test_standard_serverless_hostname_gives_workgroup_region_and_account() -> None:
    parsed = parse_redshift_hostname(
        "demo-workgroup.123456789012.us-west-2.redshift-serverless.amazonaws.com"
    )
    assert parsed is not None
    assert (parsed.deployment, parsed.name, parsed.region, parsed.account) == (
        Deployment.SERVERLESS,
        "demo-workgroup",
        "us-west-2",
        "123456789012",
    )


def test_other_hostnames_are_not_parsed() -> None:
    assert parse_redshift_hostname("localhost") is None
    assert parse_redshift_hostname("redshift.example.com") is None


def test_a_standard_host_fills_in_the_target_and_keeps_the_explicit_endpoint() -> None:
    host = "demo-cluster.cq1x2y3z4abc.eu-west-1.redshift.amazonaws.com"
    target = Target.from_options(host=host, port=5440)
    assert (target.deployment, target.name, target.region) == (
        Deployment.PROVISIONED,
        "demo-cluster",
        "eu-west-1",
    )
    assert (target.host, target.port) == (host, 5440)


def test_a_custom_domain_names_the_target() -> None:
    target = Target.from_options(custom_domain="redshift.example.com", serverless=True)
    assert target.deployment is Deployment.SERVERLESS
    assert target.custom_domain == "redshift.example.com"
    assert target.name is None


# What decides the password, and nothing that could unlock anything: the request is (part of)
# the cache key, which is hashed, compared and kept for the life of the process. A new field
# has to be added here on purpose, after asking whether it is a secret.
NON_SECRET_FIELDS = {
    CredentialRequest: {
        "target": Target,
        "db_user": str | None,
        "db_name": str | None,
        "db_groups": tuple[str, ...],
        "auto_create": bool,
        "duration_seconds": int,
    },
    Target: {
        "deployment": Deployment,
        "name": str | None,
        "custom_domain": str | None,
        "host": str | None,
        "port": int | None,
        "region": str | None,
        "endpoint_name": str | None,
        "connect_address": ConnectAddress | None,
    },
    ConnectAddress: {"address": str, "port": int | None},
}


def test_a_request_is_hashable_and_holds_no_secret() -> None:
    request = CredentialRequest(
        Target.cluster("demo", region="us-east-1"),
        db_user="alice",
        db_name="dev",
        db_groups=("readers",),
        auto_create=True,
    )
    same = CredentialRequest(
        Target.cluster("demo", region="us-east-1"),
        db_user="alice",
        db_name="dev",
        db_groups=["readers"],  # type: ignore[arg-type]  # a list is stored as a tuple
        auto_create=True,
    )
    assert hash(request) == hash(same)
    assert {request: 1}[same] == 1
    assert request != CredentialRequest(Target.cluster("demo", region="us-east-1"), db_user="bob")
    for cls, expected in NON_SECRET_FIELDS.items():
        assert typing.get_type_hints(cls) == expected, f"{cls.__name__} gained or changed a field"
    for value in leaves(request):
        assert not isinstance(value, Secret)
        assert isinstance(value, str | int | Enum | None), f"{value!r} is no plain value"


def leaves(value: object) -> Iterator[object]:
    """Every plain value inside dataclasses and tuples."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from leaves(getattr(value, item.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from leaves(item)
    else:
        yield value


@pytest.mark.parametrize("duration", [True, 900.0, "900"])
def test_a_duration_is_whole_seconds(duration: object) -> None:
    with pytest.raises(ConfigurationError, match="whole seconds"):
        CredentialRequest(Target.cluster("demo"), db_user="alice", duration_seconds=duration)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "label"),
    [
        (Target.cluster("demo"), "cluster 'demo'"),
        (
            Target(Deployment.SERVERLESS, custom_domain="db.example.com"),
            "workgroup with custom domain 'db.example.com'",
        ),
    ],
)
def test_a_target_names_itself_in_messages(target: Target, label: str) -> None:
    assert target.label == label


def test_a_target_needs_a_name_or_a_custom_domain() -> None:
    with pytest.raises(ConfigurationError, match="No workgroup given"):
        Target(Deployment.SERVERLESS)


@pytest.mark.parametrize(
    "options",
    [
        {"cluster_id": "demo-cluster"},
        {"workgroup": "attacker"},
        {"cluster_id": "attacker", "region": "eu-west-1"},
    ],
)
def test_a_standard_host_of_another_target_is_refused(options: dict[str, str]) -> None:
    """A URL or config names the host of cluster ``attacker`` while the environment names
    ``demo-cluster``: the password for one would go to the other."""
    host = "attacker.cabc123xyz.us-east-1.redshift.amazonaws.com"
    with pytest.raises(ConfigurationError, match="would go to another cluster"):
        Target.from_options(host=host, **options)  # type: ignore[arg-type]
    same = Target.from_options(host=host, cluster_id="attacker")
    assert (same.name, same.region) == ("attacker", "us-east-1")
