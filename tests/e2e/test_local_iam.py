"""AWS authentication and IAM authorization on the local stack, through unmodified boto3
clients: SigV4 against IAM users' and STS sessions' keys, identity-based policies on the
Redshift resource ARNs, AssumeRole as AWS does it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from redshift_ephemeral import AccessDeniedError
from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.conftest import denied, iam_admin
from tests.leak_scan import raises

ACCOUNT = "123456789012"
DBUSER = f"arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:demo-cluster"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def client(stack: LocalStack, service: str, session: Any = None, **keys: Any) -> Any:
    if session is None:
        session = boto3.Session(region_name=stack.region, **keys) if keys else stack.session()
    return session.client(service, endpoint_url=stack.endpoint_url, config=NO_RETRIES)


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with raises(ClientError) as caught:
        call(**kwargs)
    details = caught.value.response["Error"]
    return str(details["Code"]), str(details.get("Message", ""))


def credentials(stack: LocalStack, session: Any = None, **params: Any) -> dict[str, Any]:
    redshift = client(stack, "redshift", session)
    result: dict[str, Any] = redshift.get_cluster_credentials(
        ClusterIdentifier=seed.CLUSTER_ID, DbName=seed.DATABASE, **params
    )
    return result


# -- authentication --------------------------------------------------------------------------


def test_an_unknown_access_key_is_an_invalid_client_token(redshift_local: LocalStack) -> None:
    keys = {"aws_access_key_id": "AKIANOSUCHKEY0000000", "aws_secret_access_key": "x"}
    for service, call in [
        ("redshift", "describe_clusters"),
        ("sts", "get_caller_identity"),
        ("iam", "list_users"),
    ]:
        code, message = error(getattr(client(redshift_local, service, **keys), call))
        assert code == "InvalidClientTokenId", service
        assert message == "The security token included in the request is invalid."
    serverless = client(redshift_local, "redshift-serverless", **keys)
    code, _ = error(serverless.get_workgroup, workgroupName=seed.WORKGROUP)
    assert code == "UnrecognizedClientException"


def test_a_wrong_secret_does_not_match_the_signature(redshift_local: LocalStack) -> None:
    key_id, _ = redshift_local.access_keys("alice")
    keys = {"aws_access_key_id": key_id, "aws_secret_access_key": "not-the-secret"}
    code, message = error(client(redshift_local, "redshift", **keys).describe_clusters)
    assert code == "SignatureDoesNotMatch"
    assert "does not match the signature you provided" in message
    code, _ = error(client(redshift_local, "iam", **keys).list_users)
    assert code == "SignatureDoesNotMatch"


def test_an_unsigned_request_is_missing_authentication(redshift_local: LocalStack) -> None:
    request = urllib.request.Request(  # noqa: S310 - the stack's loopback endpoint
        redshift_local.endpoint_url,
        data=b"Action=DescribeClusters&Version=2012-12-01",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310
    assert caught.value.code == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in caught.value.read()


def unsigned_post(stack: LocalStack, path: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - the stack's loopback endpoint
        stack.endpoint_url + path,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


@pytest.mark.parametrize("path", ["/moto-api/data.json", "/moto-api/reset", "/moto-api/"])
@pytest.mark.parametrize(
    "body", [b"", b"Action=AssumeRoleWithWebIdentity", b"Action=AssumeRoleWithSAML"]
)
def test_mocks_own_api_is_unreachable_signed_or_not(
    redshift_local: LocalStack, path: str, body: bytes
) -> None:
    """moto's /moto-api/ holds every secret key and can reset the account."""
    status, answer = unsigned_post(redshift_local, path, body)
    assert status >= 400
    assert b"SecretAccessKey" not in answer
    _, secret = redshift_local.access_keys()
    assert secret.encode() not in answer
    # and the account is intact: alice's keys still work
    assert client(redshift_local, "sts").get_caller_identity()["Arn"].endswith("user/alice")


@pytest.mark.parametrize("operation", ["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"])
def test_unsigned_web_identity_and_saml_sign_ins_are_refused(
    redshift_local: LocalStack, operation: str
) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/{seed.ASSUMABLE_ROLE}"
    body = (
        f"Action={operation}&Version=2011-06-15&RoleArn={role}&RoleSessionName=x"
        "&WebIdentityToken=anything&SAMLAssertion=anything&PrincipalArn=" + role
    ).encode()
    status, answer = unsigned_post(redshift_local, "/", body)
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in answer
    assert b"SecretAccessKey" not in answer


def assumed_reader(stack: LocalStack, **params: Any) -> dict[str, Any]:
    sts = client(stack, "sts")
    result: dict[str, Any] = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{seed.ASSUMABLE_ROLE}",
        RoleSessionName="test",
        **params,
    )
    return result


def session_of(stack: LocalStack, assumed: dict[str, Any]) -> Any:
    credentials = assumed["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=stack.region,
    )


def test_sts_session_keys_work_with_their_token_only(redshift_local: LocalStack) -> None:
    assumed = assumed_reader(redshift_local)
    session = session_of(redshift_local, assumed)
    identity = client(redshift_local, "sts", session).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/test"
    credentials = assumed["Credentials"]
    without_token = {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
    }
    code, _ = error(client(redshift_local, "sts", **without_token).get_caller_identity)
    assert code == "InvalidClientTokenId"


def test_an_expired_session_token_is_expired_token(redshift_local: LocalStack) -> None:
    redshift_local.set_knobs(time_scale=1 / 900)  # a 900 s session lasts 1 s
    assumed = assumed_reader(redshift_local, DurationSeconds=900)
    session = session_of(redshift_local, assumed)
    sts = client(redshift_local, "sts", session)
    sts.get_caller_identity()
    import time

    time.sleep(1.2)  # the session's expiry is the stack's own clock: real time has to pass
    code, message = error(sts.get_caller_identity)
    assert code == "ExpiredToken"
    assert message == "The security token included in the request is expired"


# -- AssumeRole ------------------------------------------------------------------------------


def test_assume_role_of_a_missing_role_is_access_denied_as_in_aws(
    redshift_local: LocalStack,
) -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:role/no-such-role"
    code, message = error(
        client(redshift_local, "sts").assume_role, RoleArn=missing, RoleSessionName="test"
    )
    assert code == "AccessDenied"
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: sts:AssumeRole "
        f"on resource: {missing}"
    )


def test_assume_role_needs_an_identity_policy_when_the_trust_names_the_account(
    redshift_local: LocalStack,
) -> None:
    reader = f"arn:aws:iam::{ACCOUNT}:role/{seed.ASSUMABLE_ROLE}"
    bob = client(redshift_local, "sts", redshift_local.session("bob"))
    code, message = error(bob.assume_role, RoleArn=reader, RoleSessionName="test")
    assert code == "AccessDenied"
    assert message.endswith("because no identity-based policy allows the sts:AssumeRole action")
    assert assumed_reader(redshift_local)["AssumedRoleUser"]["Arn"].endswith("reader/test")


# -- authorization ---------------------------------------------------------------------------


def test_seeded_users_may_not_edit_iam_and_the_admin_may(redshift_local: LocalStack) -> None:
    code, message = error(client(redshift_local, "iam").create_user, UserName="mallory")
    assert code == "AccessDenied"
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: iam:CreateUser "
        f"on resource: arn:aws:iam::{ACCOUNT}:user/mallory because no identity-based policy "
        "allows the iam:CreateUser action"
    )
    code, _ = error(
        client(redshift_local, "iam").put_user_policy,
        UserName="alice",
        PolicyName="escalate",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
    )
    assert code == "AccessDenied"
    name = f"user-{uuid.uuid4().hex[:8]}"
    iam_admin(redshift_local).create_user(UserName=name)
    iam_admin(redshift_local).delete_user(UserName=name)


def test_bob_may_get_credentials_only_as_himself(redshift_local: LocalStack) -> None:
    bob = redshift_local.session("bob")
    assert credentials(redshift_local, bob, DbUser="bob")["DbUser"] == "IAM:bob"
    code, message = error(
        client(redshift_local, "redshift", bob).get_cluster_credentials,
        ClusterIdentifier=seed.CLUSTER_ID,
        DbName=seed.DATABASE,
        DbUser="alice",
    )
    assert code == "AccessDenied"
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: "
        f"redshift:GetClusterCredentials on resource: {DBUSER}/alice because no "
        "identity-based policy allows the redshift:GetClusterCredentials action"
    )


def test_each_db_group_needs_the_call_and_join_group(redshift_local: LocalStack) -> None:
    bob = redshift_local.session("bob")
    code, message = error(
        client(redshift_local, "redshift", bob).get_cluster_credentials,
        ClusterIdentifier=seed.CLUSTER_ID,
        DbName=seed.DATABASE,
        DbUser="bob",
        DbGroups=["analysts"],
    )
    assert code == "AccessDenied"
    assert "on resource: arn:aws:redshift:us-east-1:123456789012:dbgroup:demo-cluster/analysts" in (
        message
    )


def test_explicit_deny_wins_and_says_so(redshift_local: LocalStack) -> None:
    with denied(redshift_local, "redshift:GetClusterCredentials", resource=f"{DBUSER}/bob"):
        assert credentials(redshift_local, DbUser="alice")["DbUser"] == "IAM:alice"
        code, message = error(
            client(redshift_local, "redshift").get_cluster_credentials,
            ClusterIdentifier=seed.CLUSTER_ID,
            DbName=seed.DATABASE,
            DbUser="bob",
        )
    assert code == "AccessDenied"
    assert message.endswith(
        f"on resource: {DBUSER}/bob with an explicit deny in an identity-based policy"
    )


def test_access_denied_names_principal_action_and_resource(redshift_local: LocalStack) -> None:
    with (
        denied(redshift_local, "redshift:GetClusterCredentials"),
        raises(AccessDeniedError) as caught,
    ):
        redshift_local.source(db_user="alice").get()
    error_ = caught.value
    assert error_.action == "redshift:GetClusterCredentials"
    assert error_.principal == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert error_.resource == f"{DBUSER}/alice"
    assert "redshift-ephemeral policy" in str(error_)
    assert redshift_local.source(db_user="bob", iam_user="bob").get().user == "IAM:bob"


def test_denied_serverless_call_is_access_denied_exception(redshift_local: LocalStack) -> None:
    with (
        denied(redshift_local, "redshift-serverless:GetCredentials"),
        raises(AccessDeniedError) as caught,
    ):
        redshift_local.source(workgroup=seed.WORKGROUP).get()
    assert caught.value.action == "redshift-serverless:GetCredentials"
    assert caught.value.code == "AccessDeniedException"
    assert caught.value.resource is not None
    assert ":workgroup/" in caught.value.resource


@pytest.fixture
def self_service_role(redshift_local: LocalStack) -> Iterator[tuple[str, str]]:
    """A role whose sessions may get credentials as the database user named like the
    session, by AWS's self-service pattern; trusted by the admin directly."""
    iam = iam_admin(redshift_local)
    name = f"self-service-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{seed.ADMIN_USER}"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    yield role["Arn"], role["RoleId"]
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)


def test_condition_keys_tie_the_db_user_to_the_session(
    redshift_local: LocalStack, self_service_role: tuple[str, str]
) -> None:
    role_arn, role_id = self_service_role
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "redshift:GetClusterCredentials",
                "Resource": [f"{DBUSER}/${{redshift:DbUser}}", "arn:aws:redshift:*:*:dbname:*/dev"],
                "Condition": {
                    "StringEquals": {"aws:userid": f"{role_id}:${{redshift:DbUser}}"},
                    "StringLike": {"redshift:DbName": "d*"},
                },
            }
        ],
    }
    iam_admin(redshift_local).put_role_policy(
        RoleName=role_arn.rsplit("/", 1)[1], PolicyName="self", PolicyDocument=json.dumps(policy)
    )
    admin_sts = client(redshift_local, "sts", redshift_local.session(seed.ADMIN_USER))
    assumed = admin_sts.assume_role(RoleArn=role_arn, RoleSessionName="alice")
    session = session_of(redshift_local, assumed)
    assert credentials(redshift_local, session, DbUser="alice")["DbUser"] == "IAM:alice"
    code, message = error(
        client(redshift_local, "redshift", session).get_cluster_credentials,
        ClusterIdentifier=seed.CLUSTER_ID,
        DbName=seed.DATABASE,
        DbUser="bob",
    )
    assert code == "AccessDenied"
    assert f"assumed-role/{role_arn.rsplit('/', 1)[1]}/alice" in message
    assert f"{DBUSER}/bob" in message
