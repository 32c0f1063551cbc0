"""botocore's exceptions in this library's words: the right type (the CLI's exit code follows
it), the cause and the fix. Pure: the exceptions are built here, no AWS is called."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    SSOTokenLoadError,
)

from redshift_ephemeral.aws.errors import aws_error_from
from redshift_ephemeral.errors import (
    AccessDeniedError,
    AwsError,
    AwsIdentityError,
    ConfigurationError,
    RedshiftEphemeralError,
    TargetNotFoundError,
    ThrottledError,
)

ACTION = "redshift:GetClusterCredentials"


def client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "GetClusterCredentials")


def translated(error: Exception, **overrides: object) -> RedshiftEphemeralError:
    options: dict[str, object] = {
        "action": ACTION,
        "target_label": "cluster demo",
        "region": "eu-west-1",
    }
    return aws_error_from(error, **{**options, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (client_error("ThrottlingException"), ThrottledError, ["kept throttling", "adaptive"]),
        (client_error("ServiceUnavailable"), AwsError, ["Try again in a few minutes"]),
        (client_error("ExpiredToken"), AwsIdentityError, ["expired or invalid", "aws sso login"]),
        (client_error("ValidationException", "bad name"), ConfigurationError, ["bad name"]),
        (client_error("SomethingNew", "odd"), AwsError, ["SomethingNew", "odd"]),
        (ProfileNotFound(profile="nope"), ConfigurationError, ["nope", "list-profiles"]),
        (NoRegionError(), ConfigurationError, ["--region", "AWS_REGION"]),
        (SSOTokenLoadError(error_msg="gone"), AwsIdentityError, ["aws sso login"]),
        (NoCredentialsError(), AwsIdentityError, ["No AWS credentials", "aws configure"]),
        (
            EndpointConnectionError(endpoint_url="https://redshift.example"),
            AwsError,
            ["Could not reach AWS", "--endpoint-url"],
        ),
        (ParamValidationError(report="bad"), AwsError, [ACTION, "bad"]),
        (ValueError("strange"), AwsError, ["ValueError: strange"]),
    ],
)
def test_each_failure_has_its_type_and_says_what_to_do(
    error: Exception, kind: type[RedshiftEphemeralError], words: list[str]
) -> None:
    result = translated(error)
    assert type(result) is kind
    for word in words:
        assert word in str(result)


def test_access_denied_names_who_what_and_where_from_awss_message() -> None:
    message = (
        "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
        "redshift:GetClusterCredentials on resource: "
        "arn:aws:redshift:eu-west-1:123456789012:dbuser:demo/alice"
    )
    result = translated(client_error("AccessDenied", message))
    assert isinstance(result, AccessDeniedError)
    assert result.principal == "arn:aws:iam::123456789012:user/alice"
    assert result.action == ACTION
    assert result.resource == "arn:aws:redshift:eu-west-1:123456789012:dbuser:demo/alice"
    assert (result.code, result.operation) == ("AccessDenied", "GetClusterCredentials")
    assert "redshift-ephemeral policy" in str(result)


def test_access_denied_without_details_asks_for_the_resource_only_then() -> None:
    asked: list[str] = []

    def resource() -> str:
        asked.append("resource")
        return "arn:aws:redshift:eu-west-1:1:dbuser:demo/alice"

    result = translated(client_error("AccessDeniedException", "no"), resource=resource)
    assert isinstance(result, AccessDeniedError)
    assert result.principal is None
    assert "the current AWS identity" in str(result)
    assert result.resource == "arn:aws:redshift:eu-west-1:1:dbuser:demo/alice"
    assert asked == ["resource"]
    translated(client_error("ThrottlingException"), resource=resource)
    assert asked == ["resource"]  # not asked where no message needs it (it may cost a call)


@pytest.mark.parametrize(("account", "where"), [(None, "eu-west-1."), ("1234", "account 1234")])
def test_a_missing_cluster_names_the_region_and_the_account_when_known(
    account: str | None, where: str
) -> None:
    result = translated(client_error("ClusterNotFound"), account=lambda: account)
    assert isinstance(result, TargetNotFoundError)
    assert "cluster demo was not found in region eu-west-1" in str(result)
    assert where in str(result)


def test_a_library_error_passes_through_unchanged() -> None:
    ours = ConfigurationError("already ours")
    assert translated(ours) is ours
