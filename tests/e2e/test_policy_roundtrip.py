"""The policy `redshift-ephemeral policy` prints is exactly enough: attached to a fresh IAM
user (created through the ordinary IAM API), it lets that user get credentials; without any
one of its statements, or any one resource of a statement, AWS (here, the stack) refuses
with AccessDenied naming that action and resource."""

from __future__ import annotations

import copy
import fnmatch
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from redshift_ephemeral import AccessDeniedError, CredentialCache
from redshift_ephemeral.local import LocalStack, seed
from tests.e2e.conftest import iam_admin, run_cli
from tests.leak_scan import raises

MODES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "db_user with groups and auto_create": (
        ["--db-user", "alice", "--db-group", "analysts", "--auto-create"],
        {"db_user": "alice", "db_groups": ["analysts"], "auto_create": True},
    ),
    "identity (WithIAM)": ([], {}),
    "serverless": (["--workgroup", seed.WORKGROUP], {"workgroup": seed.WORKGROUP}),
}


def fresh_source(stack: LocalStack, session: Any, **options: Any) -> Any:
    """A source with its own cache and its own boto3 session: every get() asks AWS (the
    stack) again, endpoint discovery included."""
    credentials = session.get_credentials().get_frozen_credentials()
    own_session = boto3.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
        region_name=stack.region,
    )
    return stack.source(session=own_session, cache=CredentialCache(), **options)


def printed_policy(env: dict[str, str], args: list[str]) -> dict[str, Any]:
    result = run_cli(["policy", *args], env)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def fresh_user(redshift_local: LocalStack) -> Iterator[tuple[str, Any]]:
    """A new IAM user with an access key, made by the admin through the IAM API; yields its
    name and a boto3 session."""
    iam = iam_admin(redshift_local)
    name = f"rt-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    session = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=redshift_local.region,
    )
    yield name, session
    for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def attach(stack: LocalStack, user: str, document: dict[str, Any]) -> None:
    iam_admin(stack).put_user_policy(
        UserName=user, PolicyName="printed", PolicyDocument=json.dumps(document)
    )


def without_each_part(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """The document minus one statement, or minus one resource of a statement; with the
    action and resource that must then be refused."""
    for index, statement in enumerate(document["Statement"]):
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        reduced = copy.deepcopy(document)
        del reduced["Statement"][index]
        yield reduced, statement["Action"], resources[0]
        if len(resources) > 1:
            for position, resource in enumerate(resources):
                reduced = copy.deepcopy(document)
                del reduced["Statement"][index]["Resource"][position]
                yield reduced, statement["Action"], resource


@pytest.mark.parametrize("mode", list(MODES))
def test_printed_policy_is_enough_and_every_part_is_needed(
    redshift_local: LocalStack,
    env: dict[str, str],
    fresh_user: tuple[str, Any],
    mode: str,
) -> None:
    args, options = MODES[mode]
    document = printed_policy(env, args)
    user, session = fresh_user
    attach(redshift_local, user, document)
    credential = fresh_source(redshift_local, session, **options).get()
    assert credential.password
    checked = 0
    for reduced, action, resource in without_each_part(document):
        attach(redshift_local, user, reduced)
        with raises(AccessDeniedError) as caught:
            fresh_source(redshift_local, session, **options).get()
            pytest.fail(f"allowed without {action} on {resource}")
        assert caught.value.action == action, (action, resource)
        # The refusal names the real ARN; the policy may name it with a wildcard
        # (a workgroup's ARN holds its generated id).
        assert caught.value.resource is not None
        assert fnmatch.fnmatchcase(caught.value.resource, resource), (action, resource)
        assert caught.value.principal == f"arn:aws:iam::123456789012:user/{user}"
        checked += 1
    assert checked >= len(document["Statement"])


def test_self_service_policy_serves_each_session_as_its_own_db_user(
    redshift_local: LocalStack,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    iam = iam_admin(redshift_local)
    name = f"analyst-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::123456789012:user/{seed.ADMIN_USER}"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    try:
        document = printed_policy(
            env, ["--db-user", "x", "--self-service", "--role-id", role["RoleId"]]
        )
        issue = document["Statement"][0]
        assert issue["Resource"][0].endswith(":dbuser:demo-cluster/${redshift:DbUser}")
        assert issue["Condition"] == {
            "StringEquals": {"aws:userid": f"{role['RoleId']}:${{redshift:DbUser}}"}
        }
        iam.put_role_policy(
            RoleName=name, PolicyName="printed", PolicyDocument=json.dumps(document)
        )
        for session_name, allowed, refused in (("alice", "alice", "bob"), ("bob", "bob", "alice")):
            session = redshift_local.session(seed.ADMIN_USER)
            assumed = session.client("sts", endpoint_url=redshift_local.endpoint_url).assume_role(
                RoleArn=role["Arn"], RoleSessionName=session_name
            )["Credentials"]
            as_session = boto3.Session(
                aws_access_key_id=assumed["AccessKeyId"],
                aws_secret_access_key=assumed["SecretAccessKey"],
                aws_session_token=assumed["SessionToken"],
                region_name=redshift_local.region,
            )
            credential = fresh_source(redshift_local, as_session, db_user=allowed).get()
            assert credential.user == f"IAM:{allowed}"
            with raises(AccessDeniedError) as caught:
                fresh_source(redshift_local, as_session, db_user=refused).get()
            assert caught.value.resource is not None
            assert caught.value.resource.endswith(f":dbuser:demo-cluster/{refused}")
        # Signed in as an IAM user, the role id cannot be guessed: a clear error.
        result = run_cli(["policy", "--db-user", "x", "--self-service"], env)
        assert result.returncode == 2
        assert "--role-id" in result.stderr
    finally:
        iam.delete_role_policy(RoleName=name, PolicyName="printed")
        iam.delete_role(RoleName=name)


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["--db-user", "alice"], {"db_user": "alice"}),
        ([], {}),
        (["--workgroup", seed.WORKGROUP], {"workgroup": seed.WORKGROUP}),
    ],
    ids=["db_user", "identity", "serverless"],
)
def test_the_data_api_policy_is_enough_for_the_data_api_driver(
    redshift_local: LocalStack,
    env: dict[str, str],
    fresh_user: tuple[str, Any],
    args: list[str],
    options: dict[str, Any],
) -> None:
    from redshift_ephemeral import connect

    name, session = fresh_user
    document = printed_policy(env, ["--data-api", *args])
    source = fresh_source(redshift_local, session, **options)
    with raises(AccessDeniedError, match="redshift-data:ExecuteStatement"):
        connect(source, driver="data_api").cursor().execute("SELECT 1")
    attach(redshift_local, name, document)
    connection = connect(source, driver="data_api")
    cursor = connection.cursor()
    cursor.execute("SELECT 1")
    cursor.execute("SELECT 2")  # in the session the first one opened
    assert cursor.fetchall() == [(2,)]
    assert connection.sessions_created == 1
    assert redshift_local.calls().get("redshift:DescribeClusters", 0) == 0
