"""The AWS CLI (v1, its own venv) against the stack's emulator: every emulated operation, and
the error cases a user meets, with AWS's codes and the CLI's exit code (v1 exits 255 for a
service's error; v2 says 254), at once - never a hang, a retry loop or an HTML page. Only
``AWS_ENDPOINT_URL`` and keys from the stack's environment point it there."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from redshift_ephemeral.local import seed

from .conftest import Client, assert_succeeded

ACCOUNT = seed.ACCOUNT
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{seed.ASSUMABLE_ROLE}"
CLUSTER_DOMAIN = seed.CLUSTER_DOMAIN
ERROR_EXIT = 255  # awscli v1, for a service's error as for any other (v2 says 254)
# A retry loop (botocore retries 5xx and throttling up to 4 times with back-off) shows as time.
AT_ONCE_SECONDS = 15.0


def aws(
    client: Client, *args: str, user: str = "alice", password_in_stdout: bool = False
) -> subprocess.CompletedProcess[str]:
    return client.run(
        ["aws", *args, "--output", "json"],
        venv="awscli",
        user=user,
        password_in_stdout=password_in_stdout,
        timeout=120,
    )


def aws_json(client: Client, *args: str, password_in_stdout: bool = False) -> Any:
    result = aws(client, *args, password_in_stdout=password_in_stdout)
    assert_succeeded(result)
    return json.loads(result.stdout)


def aws_error(
    client: Client, *args: str, env: dict[str, str] | None = None, user: str = "alice"
) -> tuple[str, float]:
    """Run a call that must fail with a service error; returns stderr and how long it took."""
    started = time.monotonic()
    # Its stdout is not scanned: a call that wrongly succeeds may print a password, and fails
    # here without showing it.
    if env is None:
        result = aws(client, *args, user=user, password_in_stdout=True)
    else:
        result = client.run(
            ["aws", *args, "--output", "json"],
            environment=env,
            timeout=120,
            password_in_stdout=True,
        )
    elapsed = time.monotonic() - started
    code, stderr = result.returncode, result.stderr  # a failure shows these, never stdout
    assert code == ERROR_EXIT, f"exit {code}, stdout of {len(result.stdout)} characters"
    assert "An error occurred (" in stderr  # the service's error, parsed
    assert "<html" not in stderr.lower()
    assert elapsed < AT_ONCE_SECONDS, f"took {elapsed:.1f} s: retried?"
    return stderr, elapsed


def assert_issued(client: Client, password: str) -> None:
    """The password printed is one the stack issued (a failure never shows it)."""
    if password not in client.stack.issued_passwords():
        pytest.fail("the password printed is not one the stack issued", pytrace=False)


def test_describe_clusters_advertises_the_redshift_endpoint(client: Client) -> None:
    found = aws_json(
        client, "redshift", "describe-clusters", "--cluster-identifier", "demo-cluster"
    )
    cluster = found["Clusters"][0]
    assert cluster["ClusterIdentifier"] == seed.CLUSTER_ID
    assert cluster["DBName"] == seed.DATABASE
    # The front door (Redshift's login and startup parameters), not the internal PostgreSQL.
    assert cluster["Endpoint"]["Port"] == client.stack.redshift_port


def test_get_cluster_credentials_with_groups_and_auto_create(client: Client) -> None:
    answer = aws_json(
        client,
        "redshift",
        "get-cluster-credentials",
        "--cluster-identifier",
        seed.CLUSTER_ID,
        "--db-user",
        seed.READER_USER,
        "--db-name",
        seed.DATABASE,
        "--db-groups",
        seed.GROUP,
        "--auto-create",
        "--duration-seconds",
        "900",
        password_in_stdout=True,
    )
    assert_issued(client, answer.pop("DbPassword"))
    assert answer["DbUser"] == f"IAMA:{seed.READER_USER}"  # AWS: IAMA: whenever AutoCreate
    expires = datetime.fromisoformat(answer["Expiration"])
    assert 850 < (expires - datetime.now(UTC)).total_seconds() <= 900


def test_get_cluster_credentials_with_iam(client: Client) -> None:
    answer = aws_json(
        client,
        "redshift",
        "get-cluster-credentials-with-iam",
        "--cluster-identifier",
        seed.CLUSTER_ID,
        "--db-name",
        seed.DATABASE,
        password_in_stdout=True,
    )
    assert_issued(client, answer.pop("DbPassword"))
    assert answer["DbUser"] == f"IAM:{seed.READER_USER}"
    assert datetime.fromisoformat(answer["NextRefreshTime"]) < datetime.fromisoformat(
        answer["Expiration"]
    )


def test_describe_custom_domain_associations(client: Client) -> None:
    found = aws_json(
        client,
        "redshift",
        "describe-custom-domain-associations",
        "--custom-domain-name",
        CLUSTER_DOMAIN,
    )
    association = found["Associations"][0]["CertificateAssociations"][0]
    assert association == {"CustomDomainName": CLUSTER_DOMAIN, "ClusterIdentifier": seed.CLUSTER_ID}


def test_get_workgroup_advertises_the_redshift_endpoint(client: Client) -> None:
    found = aws_json(
        client, "redshift-serverless", "get-workgroup", "--workgroup-name", seed.WORKGROUP
    )
    workgroup = found["workgroup"]
    assert workgroup["workgroupName"] == seed.WORKGROUP
    assert workgroup["status"] == "AVAILABLE"
    assert workgroup["endpoint"]["port"] == client.stack.redshift_port


def test_serverless_get_credentials(client: Client) -> None:
    answer = aws_json(
        client,
        "redshift-serverless",
        "get-credentials",
        "--workgroup-name",
        seed.WORKGROUP,
        "--db-name",
        seed.DATABASE,
        password_in_stdout=True,
    )
    assert_issued(client, answer.pop("dbPassword"))
    assert answer["dbUser"] == f"IAM:{seed.READER_USER}"


def test_get_caller_identity(client: Client) -> None:
    identity = aws_json(client, "sts", "get-caller-identity")
    assert identity["Account"] == ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{seed.READER_USER}"


def test_assume_role_then_use_its_session(client: Client) -> None:
    assumed = aws_json(
        client,
        "sts",
        "assume-role",
        "--role-arn",
        ROLE_ARN,
        "--role-session-name",
        "interop",
        password_in_stdout=True,  # the session's secret key, which the user asked for
    )
    keys = assumed["Credentials"]
    env = client.environment("awscli") | {
        "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
        "AWS_SESSION_TOKEN": keys["SessionToken"],
    }
    result = client.run(["aws", "sts", "get-caller-identity", "--output", "json"], environment=env)
    assert_succeeded(result)
    assert json.loads(result.stdout)["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{seed.ASSUMABLE_ROLE}/interop"
    )


# -- what a user gets wrong ------------------------------------------------------------------


def test_unknown_access_key_is_invalid_client_token_id(client: Client) -> None:
    env = client.environment("awscli") | {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"}
    stderr, _ = aws_error(client, "sts", "get-caller-identity", env=env)
    assert "(InvalidClientTokenId)" in stderr
    assert "The security token included in the request is invalid" in stderr


def test_wrong_secret_is_signature_does_not_match(client: Client) -> None:
    env = client.environment("awscli") | {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    stderr, _ = aws_error(
        client, "redshift", "describe-clusters", "--cluster-identifier", "demo-cluster", env=env
    )
    assert "(SignatureDoesNotMatch)" in stderr
    assert "The request signature we calculated does not match the signature you provided" in (
        stderr
    )


def test_assuming_a_missing_role_is_refused_as_aws_does(client: Client) -> None:
    stderr, _ = aws_error(
        client,
        "sts",
        "assume-role",
        "--role-arn",
        f"arn:aws:iam::{ACCOUNT}:role/no-such-role",
        "--role-session-name",
        "interop",
    )
    # AWS never says whether a role exists: the caller is not authorised to assume it.
    assert "(AccessDenied)" in stderr
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/{seed.READER_USER} is not authorized to perform: "
        f"sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT}:role/no-such-role"
    ) in stderr


def test_access_denied_has_aws_wording(client: Client) -> None:
    # bob's policy allows only the database user of his own name.
    stderr, _ = aws_error(
        client,
        "redshift",
        "get-cluster-credentials",
        "--cluster-identifier",
        seed.CLUSTER_ID,
        "--db-user",
        seed.READER_USER,
        user=seed.OTHER_USER,
    )
    assert "(AccessDenied)" in stderr
    assert (
        f"User: arn:aws:iam::{ACCOUNT}:user/{seed.OTHER_USER} is not authorized to perform: "
        f"redshift:GetClusterCredentials on resource: arn:aws:redshift:{seed.REGION}:{ACCOUNT}:"
        f"dbuser:{seed.CLUSTER_ID}/{seed.READER_USER} because no identity-based policy allows "
        "the redshift:GetClusterCredentials action"
    ) in stderr


def test_missing_cluster_is_cluster_not_found(client: Client) -> None:
    stderr, _ = aws_error(
        client, "redshift", "describe-clusters", "--cluster-identifier", "no-such-cluster"
    )
    assert "(ClusterNotFound)" in stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("redshift", "describe-events"), "InvalidAction"),
        (("redshift-serverless", "list-namespaces"), "UnknownOperationException"),
    ],
)
def test_an_operation_not_emulated_is_an_aws_error_at_once(
    client: Client, args: tuple[str, ...], code: str
) -> None:
    stderr, _ = aws_error(client, *args)
    assert f"({code})" in stderr
    assert sum(client.stack.calls().values()) == 1  # answered once, not retried


# -- with nothing of ours: the AWS CLI's password, psql's login ---------------------------

AWS_DOCS_FLOW = """
set -eu
endpoint=$(aws redshift describe-clusters --cluster-identifier demo-cluster \
    --query 'Clusters[0].Endpoint.[Address,Port]' --output text)
credentials=$(aws redshift get-cluster-credentials --cluster-identifier demo-cluster \
    --db-user alice --db-name dev --query '[DbUser,DbPassword]' --output text)
read -r host port <<<"$endpoint"
read -r user password <<<"$credentials"
PGPASSWORD="$password" PGSSLMODE=verify-full PGSSLROOTCERT="$REDSHIFT_EPHEMERAL_SSLROOTCERT" \
    psql -h "$host" -p "$port" -U "$user" -d dev -tAc 'SELECT COUNT(*) FROM my_table'
"""


def test_a_password_from_the_aws_cli_logs_psql_in_over_verify_full(client: Client) -> None:
    """AWS's documented flow: the endpoint and a password from the AWS CLI, psql with them."""
    result = client.run(["bash", "-c", AWS_DOCS_FLOW], venv="awscli")
    assert_succeeded(result)
    assert result.stdout.strip() == str(seed.TABLE_ROWS)
