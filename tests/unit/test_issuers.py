"""Every AWS call's parameters, checked by botocore's Stubber against AWS's service model."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from redshift_ephemeral import (
    AccessDeniedError,
    AwsIdentity,
    AwsIdentityError,
    CredentialCache,
    CredentialRequest,
    CredentialSource,
    RoleToAssume,
    Target,
    TargetNotFoundError,
    ThrottledError,
)
from redshift_ephemeral.aws import issuers
from redshift_ephemeral.aws.clients import AwsClients
from redshift_ephemeral.aws.issuers import AwsIssuer, issuer_for
from redshift_ephemeral.targets import Operation
from tests.conftest import make_credential

REGION = "us-east-1"
EXPIRES = datetime(2030, 1, 1, 12, 15, tzinfo=UTC)
NEXT_REFRESH = datetime(2030, 1, 1, 12, 10, tzinfo=UTC)


def static_session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="source-secret",
        region_name=REGION,
    )


@pytest.fixture
def clients(aws_sandbox: None) -> AwsClients:
    return AwsClients(AwsIdentity(session=static_session(), region=REGION))


@pytest.fixture
def redshift(clients: AwsClients) -> Iterator[Stubber]:
    with Stubber(clients.redshift()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def serverless(clients: AwsClients) -> Iterator[Stubber]:
    with Stubber(clients.redshift_serverless()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def describe_clusters_response(cluster: str = "demo-cluster") -> dict[str, Any]:
    return {
        "Clusters": [
            {
                "ClusterIdentifier": cluster,
                "DBName": "warehouse",
                "Endpoint": {
                    "Address": f"{cluster}.abc123.us-east-1.redshift.amazonaws.com",
                    "Port": 5439,
                },
            }
        ]
    }


def test_get_cluster_credentials_sends_every_parameter(
    clients: AwsClients, redshift: Stubber
) -> None:
    redshift.add_response(
        "describe_clusters", describe_clusters_response(), {"ClusterIdentifier": "demo-cluster"}
    )
    redshift.add_response(
        "get_cluster_credentials",
        {"DbUser": "IAM:alice", "DbPassword": "pw-1", "Expiration": EXPIRES},
        {
            "DbUser": "alice",
            "DbName": "warehouse",
            "ClusterIdentifier": "demo-cluster",
            "DurationSeconds": 1800,
            "AutoCreate": False,
            "DbGroups": ["analysts", "etl"],
        },
    )
    request = CredentialRequest(
        Target.cluster("demo-cluster"),
        db_user="alice",
        db_groups=("analysts", "etl"),
        duration_seconds=1800,
    )
    credential = AwsIssuer(clients).issue(request)
    assert credential.user == "IAM:alice"
    assert credential.host == "demo-cluster.abc123.us-east-1.redshift.amazonaws.com"
    assert (credential.port, credential.database) == (5439, "warehouse")
    assert credential.expires_at == EXPIRES
    assert credential.operation is Operation.GET_CLUSTER_CREDENTIALS
    assert credential.next_refresh_at is None


def test_get_cluster_credentials_with_iam_and_custom_domain(
    clients: AwsClients, redshift: Stubber
) -> None:
    redshift.add_response(
        "get_cluster_credentials_with_iam",
        {
            "DbUser": "IAMR:analyst",
            "DbPassword": "pw-2",
            "Expiration": EXPIRES,
            "NextRefreshTime": NEXT_REFRESH,
        },
        {"DbName": "dev", "CustomDomainName": "redshift.example.com", "DurationSeconds": 900},
    )
    request = CredentialRequest(
        Target(Target.cluster("x").deployment, custom_domain="redshift.example.com")
    )
    credential = AwsIssuer(clients).issue(request)
    assert credential.user == "IAMR:analyst"
    assert (credential.host, credential.port, credential.database) == (
        "redshift.example.com",
        5439,
        "dev",
    )
    assert credential.next_refresh_at == NEXT_REFRESH
    assert credential.operation is Operation.GET_CLUSTER_CREDENTIALS_WITH_IAM


def test_serverless_get_credentials_after_get_workgroup(
    clients: AwsClients, serverless: Stubber
) -> None:
    serverless.add_response(
        "get_workgroup",
        {
            "workgroup": {
                "workgroupName": "demo-workgroup",
                "endpoint": {
                    "address": "demo-workgroup.123456789012.us-east-1."
                    "redshift-serverless.amazonaws.com",
                    "port": 5439,
                },
            }
        },
        {"workgroupName": "demo-workgroup"},
    )
    serverless.add_response(
        "get_credentials",
        {
            "dbUser": "IAM:alice",
            "dbPassword": "pw-3",
            "expiration": EXPIRES,
            "nextRefreshTime": NEXT_REFRESH,
        },
        {"workgroupName": "demo-workgroup", "dbName": "sales", "durationSeconds": 3600},
    )
    request = CredentialRequest(
        Target.workgroup("demo-workgroup"), db_name="sales", duration_seconds=3600
    )
    credential = AwsIssuer(clients).issue(request)
    assert credential.host.startswith("demo-workgroup.123456789012.")
    assert (credential.database, credential.user) == ("sales", "IAM:alice")
    assert credential.operation is Operation.SERVERLESS_GET_CREDENTIALS


def test_endpoint_discovery_is_cached_per_target(clients: AwsClients, redshift: Stubber) -> None:
    redshift.add_response(
        "describe_clusters", describe_clusters_response(), {"ClusterIdentifier": "demo-cluster"}
    )
    for _ in range(3):
        redshift.add_response(
            "get_cluster_credentials",
            {"DbUser": "IAM:alice", "DbPassword": "pw", "Expiration": EXPIRES},
            {
                "DbUser": "alice",
                "DbName": "warehouse",
                "ClusterIdentifier": "demo-cluster",
                "DurationSeconds": 900,
                "AutoCreate": False,
            },
        )
    issuer = AwsIssuer(clients)
    request = CredentialRequest(Target.cluster("demo-cluster"), db_user="alice")
    for _ in range(3):
        issuer.issue(request)  # the Stubber fails on a second, unexpected DescribeClusters


def test_explicit_host_skips_discovery(clients: AwsClients, redshift: Stubber) -> None:
    redshift.add_response(
        "get_cluster_credentials",
        {"DbUser": "IAM:alice", "DbPassword": "pw", "Expiration": EXPIRES},
        {
            "DbUser": "alice",
            "DbName": "dev",
            "ClusterIdentifier": "demo-cluster",
            "DurationSeconds": 900,
            "AutoCreate": True,
        },
    )
    target = Target.cluster("demo-cluster", host="localhost", port=15439)
    credential = AwsIssuer(clients).issue(
        CredentialRequest(target, db_user="alice", auto_create=True)
    )
    assert (credential.host, credential.port) == ("localhost", 15439)


def test_access_denied_names_principal_action_and_resource(
    clients: AwsClients, redshift: Stubber
) -> None:
    resource = "arn:aws:redshift:us-east-1:123456789012:dbuser:demo-cluster/alice"
    redshift.add_client_error(
        "get_cluster_credentials",
        service_error_code="AccessDenied",
        http_status_code=403,
        service_message=(
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: "
            f"redshift:GetClusterCredentials on resource: {resource} because no "
            "identity-based policy allows the redshift:GetClusterCredentials action"
        ),
    )
    target = Target.cluster("demo-cluster", host="localhost", port=5439)
    with pytest.raises(AccessDeniedError) as caught:
        AwsIssuer(clients).issue(CredentialRequest(target, db_user="alice"))
    error = caught.value
    assert error.principal == "arn:aws:iam::123456789012:user/bob"
    assert error.action == "redshift:GetClusterCredentials"
    assert error.resource == resource
    for part in (error.principal, error.action, resource, "redshift-ephemeral policy"):
        assert part in str(error)


def test_not_found_names_target_region_and_account(clients: AwsClients, redshift: Stubber) -> None:
    redshift.add_client_error(
        "describe_clusters",
        service_error_code="ClusterNotFound",
        http_status_code=404,
        service_message="Cluster nope not found.",
    )
    with Stubber(clients.sts()) as sts:
        sts.add_response(
            "get_caller_identity",
            {
                "Account": "123456789012",
                "Arn": "arn:aws:iam::123456789012:user/bob",
                "UserId": "AIDA",
            },
            {},
        )
        with pytest.raises(TargetNotFoundError) as caught:
            AwsIssuer(clients).issue(CredentialRequest(Target.cluster("nope"), db_user="alice"))
    message = str(caught.value)
    assert "cluster 'nope'" in message
    assert "us-east-1" in message
    assert "123456789012" in message


def test_throttling_left_after_retries_is_a_clear_error(
    clients: AwsClients, redshift: Stubber
) -> None:
    redshift.add_client_error(
        "get_cluster_credentials",
        service_error_code="Throttling",
        http_status_code=400,
        service_message="Rate exceeded",
    )
    target = Target.cluster("demo-cluster", host="localhost")
    with pytest.raises(ThrottledError, match="retries"):
        AwsIssuer(clients).issue(CredentialRequest(target, db_user="alice"))


@pytest.mark.parametrize(
    "code",
    [
        "ExpiredToken",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
    ],
)
def test_rejected_aws_credentials_say_how_to_log_in(
    clients: AwsClients, redshift: Stubber, code: str
) -> None:
    redshift.add_client_error(
        "get_cluster_credentials",
        service_error_code=code,
        http_status_code=400,
        service_message="The token has expired",
    )
    target = Target.cluster("demo-cluster", host="localhost")
    with pytest.raises(AwsIdentityError, match="aws sso login"):
        AwsIssuer(clients).issue(CredentialRequest(target, db_user="alice"))


def test_no_aws_credentials_says_how_to_log_in(
    aws_sandbox: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    issuer = AwsIssuer(AwsClients(AwsIdentity(region=REGION)))
    target = Target.cluster("demo-cluster", host="localhost")
    with pytest.raises(AwsIdentityError, match="aws configure"):
        issuer.issue(CredentialRequest(target, db_user="alice"))


class StubbedStsSession(boto3.Session):
    """A caller's session whose STS clients are stubbed, so role assumption is checked
    against STS's service model."""

    def __init__(self, responses: list[tuple[dict[str, Any], dict[str, Any]]]):
        super().__init__(
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="source-secret",
            region_name=REGION,
        )
        self.responses = responses
        self.stubbers: list[Stubber] = []

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = super().client(service_name, *args, **kwargs)  # type: ignore[call-overload]
        if service_name == "sts":
            stubber = Stubber(client)
            response, params = self.responses.pop(0)
            stubber.add_response("assume_role", response, params)
            stubber.activate()
            self.stubbers.append(stubber)
        return client


def assume_role_response(key: str) -> dict[str, Any]:
    return {
        "Credentials": {
            "AccessKeyId": key,
            "SecretAccessKey": "role-secret",
            "SessionToken": "role-token",
            "Expiration": datetime.now(UTC) + timedelta(hours=1),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROAEXAMPLE:redshift-ephemeral",
            "Arn": "arn:aws:sts::123456789012:assumed-role/reader/x",
        },
    }


def test_role_assumption_with_external_id_and_mfa_callback(aws_sandbox: None) -> None:
    session = StubbedStsSession(
        [
            (
                assume_role_response("ASIAROLEKEY0000001"),
                {
                    "RoleArn": "arn:aws:iam::123456789012:role/reader",
                    "RoleSessionName": "etl-job",
                    "ExternalId": "ext-42",
                    "SerialNumber": "arn:aws:iam::123456789012:mfa/alice",
                    "TokenCode": "123456",
                },
            )
        ]
    )
    prompts: list[str] = []

    def mfa_code(prompt: str) -> str:
        prompts.append(prompt)
        return "123456"

    role = RoleToAssume(
        "arn:aws:iam::123456789012:role/reader",
        external_id="ext-42",
        session_name="etl-job",
        mfa_serial="arn:aws:iam::123456789012:mfa/alice",
    )
    clients = AwsClients(
        AwsIdentity(session=session, region=REGION, roles=(role,), mfa_token_provider=mfa_code)
    )
    credentials = clients.session.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key == "ASIAROLEKEY0000001"
    assert len(prompts) == 1
    assert "arn:aws:iam::123456789012:mfa/alice" in prompts[0]
    for stubber in session.stubbers:
        stubber.assert_no_pending_responses()


def test_role_chain_assumes_each_role_with_the_previous_ones_credentials(aws_sandbox: None) -> None:
    session = StubbedStsSession(
        [
            (
                assume_role_response("ASIAFIRSTHOP000001"),
                {"RoleArn": "arn:aws:iam::111111111111:role/hop", "RoleSessionName": ANY},
            ),
            (
                assume_role_response("ASIASECONDHOP00002"),
                {"RoleArn": "arn:aws:iam::222222222222:role/target", "RoleSessionName": ANY},
            ),
        ]
    )
    roles = (
        RoleToAssume("arn:aws:iam::111111111111:role/hop"),
        RoleToAssume("arn:aws:iam::222222222222:role/target"),
    )
    clients = AwsClients(AwsIdentity(session=session, region=REGION, roles=roles))
    credentials = clients.session.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key == "ASIASECONDHOP00002"
    assert len(session.stubbers) == 2
    for stubber in session.stubbers:
        stubber.assert_no_pending_responses()


def test_one_client_per_service_and_region_is_reused(clients: AwsClients) -> None:
    assert clients.redshift() is clients.redshift()
    assert clients.redshift("eu-west-1") is not clients.redshift()
    assert clients.session is clients.session


def test_retries_use_botocores_standard_mode(clients: AwsClients) -> None:
    retries = clients.redshift().meta.config.retries  # type: ignore[attr-defined]
    assert retries is not None
    assert retries["mode"] == "standard"
    assert retries["total_max_attempts"] == 5


def test_assumed_role_credentials_are_reused_from_the_on_disk_sts_cache(
    aws_sandbox: None, tmp_path: Any
) -> None:
    role = RoleToAssume(
        "arn:aws:iam::123456789012:role/reader", mfa_serial="arn:aws:iam::123456789012:mfa/alice"
    )
    prompts: list[str] = []

    def mfa_code(prompt: str) -> str:
        prompts.append(prompt)
        return "123456"

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o755)  # as an older AWS CLI may have left it: made private on use

    def access_key(session: StubbedStsSession) -> str:
        identity = AwsIdentity(
            session=session,
            region=REGION,
            roles=(role,),
            mfa_token_provider=mfa_code,
            sts_cache_dir=str(cache_dir),
        )
        credentials = AwsClients(identity).session.get_credentials()
        assert credentials is not None
        return str(credentials.get_frozen_credentials().access_key)

    first = StubbedStsSession(
        [
            (
                assume_role_response("ASIACACHEDROLE0001"),
                {
                    "RoleArn": role.arn,
                    "RoleSessionName": ANY,
                    "SerialNumber": role.mfa_serial,
                    "TokenCode": "123456",
                },
            )
        ]
    )
    assert access_key(first) == "ASIACACHEDROLE0001"
    # A second process (a new session, no STS response queued): the cache answers, no MFA.
    second = StubbedStsSession([])
    assert access_key(second) == "ASIACACHEDROLE0001"
    assert second.stubbers == []
    assert len(prompts) == 1
    cached = list(cache_dir.iterdir())
    assert len(cached) == 1
    assert cached[0].stat().st_mode & 0o777 == 0o600
    assert cache_dir.stat().st_mode & 0o777 == 0o700


# -- one issuer per identity, held only while used (issue 10, points 6 and 7) ---------------


def _another_value(field: dataclasses.Field[Any]) -> Any:
    """A value for ``field`` different from its default: a new field must be added here, and
    is then checked to take part in the identity's key."""
    others: dict[str, Any] = {
        "profile": "other",
        "region": "eu-west-1",
        "roles": (RoleToAssume("arn:aws:iam::123456789012:role/other"),),
        "endpoint_url": "http://localhost:1",
        "retry_mode": "adaptive",
        "max_attempts": 2,
        "session": static_session(),
        "mfa_token_provider": lambda prompt: "123456",
        "sts_cache_dir": "/tmp/other-sts-cache",
    }
    assert field.name in others, f"AwsIdentity.{field.name} is new: add a value for it here"
    return others[field.name]


@pytest.mark.parametrize("field", dataclasses.fields(AwsIdentity), ids=lambda field: field.name)
def test_every_identity_field_takes_part_in_the_issuer_key(
    aws_sandbox: None, field: dataclasses.Field[Any]
) -> None:
    base = AwsIdentity(region=REGION)
    changed = dataclasses.replace(base, **{field.name: _another_value(field)})
    assert changed != base
    assert issuer_for(changed) is not issuer_for(base)
    request = CredentialRequest(Target.cluster("demo-cluster"), db_user="alice")
    assert CredentialSource(request, changed).key != CredentialSource(request, base).key
    # Equal identities (a copy, not the same object) still share one issuer.
    issuer = issuer_for(changed)
    assert issuer_for(dataclasses.replace(changed)) is issuer


def test_sources_of_one_identity_share_one_issuer_even_one_after_another(
    aws_sandbox: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's functions and connect(cluster_id=...) build a source per call: the next
    call must find the session, clients and endpoint cache the last one built."""
    monkeypatch.setattr(AwsIssuer, "issue", lambda self, request, endpoint=None: make_credential())
    identity = AwsIdentity(region=REGION)
    request = CredentialRequest(Target.cluster("demo-cluster"), db_user="alice")
    built = []
    for _ in range(3):
        source = CredentialSource(request, AwsIdentity(region=REGION), cache=CredentialCache())
        source.get()
        built.append(id(issuer_for(identity)))
        del source
        gc.collect()
    assert len(set(built)) == 1


def test_the_issuers_kept_for_unused_identities_are_bounded(
    aws_sandbox: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AwsIssuer, "issue", lambda self, request, endpoint=None: make_credential())
    request = CredentialRequest(Target.cluster("demo-cluster"), db_user="alice")
    held = CredentialSource(request, AwsIdentity(region=REGION, profile="held"))
    held.get()
    for number in range(issuers.ISSUERS_KEPT * 2):  # e.g. a new boto3.Session per call
        CredentialSource(request, AwsIdentity(region=REGION, max_attempts=number + 6)).get()
    assert len(issuers._issuers) == issuers.ISSUERS_KEPT
    assert held.get() is not None  # a source keeps working with its own issuer
