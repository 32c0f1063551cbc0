"""Botocore exceptions as this library's errors: :func:`aws_error_from` (docs/design.md,
"Bad input and faults").

Each message names the cause and the fix. Throttling reaches here only once botocore's own
retries are spent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from ..errors import (
    AccessDeniedError,
    AwsError,
    AwsIdentityError,
    ConfigurationError,
    RedshiftEphemeralError,
    TargetNotFoundError,
    ThrottledError,
)

ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AccessDeniedFault", "UnauthorizedOperation"}
)
NOT_FOUND_CODES = frozenset(
    {"ClusterNotFound", "ClusterNotFoundFault", "ResourceNotFoundException"}
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerException",
        "InternalServerError",
    }
)
EXPIRED_IDENTITY_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "InvalidAccessKeyId",
    }
)

_DENIED_MESSAGE = re.compile(
    r"(?:User|Principal):\s*(?P<principal>\S+)\s+is not authorized to perform:\s*"
    r"(?P<action>\S+)(?:\s+on resource:\s*(?P<resource>[^\s,]+))?"
)

LOGIN_HINT = (
    "Log in to AWS first: `aws sso login --profile <name>` for SSO, `aws configure` for keys, "
    "or set AWS_PROFILE / AWS_ACCESS_KEY_ID; then try again."
)


def aws_error_from(
    error: Exception,
    *,
    action: str,
    target_label: str,
    region: str | None,
    resource: Callable[[], str | None] = lambda: None,
    account: Callable[[], str | None] = lambda: None,
) -> RedshiftEphemeralError:
    """Map a botocore exception to our hierarchy. ``resource`` and ``account`` are asked
    only when a message needs them and the error does not carry them (they may cost an STS
    call)."""
    if isinstance(error, RedshiftEphemeralError):
        return error
    operation = action.split(":", 1)[-1]
    if isinstance(error, ClientError):
        return _aws_error_from_client_error(
            error,
            action=action,
            operation=operation,
            target_label=target_label,
            region=region,
            resource=resource,
            account=account,
        )
    if isinstance(error, ProfileNotFound):
        return ConfigurationError(
            f"AWS profile not found: {error}. List your profiles with `aws configure "
            "list-profiles`, or drop --profile."
        )
    if isinstance(error, NoRegionError):
        return ConfigurationError(
            "No AWS region: give --region, set AWS_REGION, or use a standard Redshift hostname "
            "that names the region."
        )
    if isinstance(error, SSOTokenLoadError | UnauthorizedSSOTokenError | TokenRetrievalError):
        return AwsIdentityError(
            f"The AWS SSO session has expired or was never started ({type(error).__name__}). "
            "Run `aws sso login --profile <name>` and try again.",
            operation=operation,
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return AwsIdentityError(f"No AWS credentials were found. {LOGIN_HINT}", operation=operation)
    if isinstance(error, EndpointConnectionError | ConnectionClosedError | ReadTimeoutError):
        return AwsError(
            f"Could not reach AWS for {action}: {error}. Check the network, the region and any "
            "--endpoint-url / AWS_ENDPOINT_URL setting.",
            operation=operation,
        )
    if isinstance(error, BotoCoreError):
        return AwsError(f"AWS call {action} failed: {error}", operation=operation)
    return AwsError(
        f"AWS call {action} failed: {type(error).__name__}: {error}", operation=operation
    )


def _aws_error_from_client_error(
    error: ClientError,
    *,
    action: str,
    operation: str,
    target_label: str,
    region: str | None,
    resource: Callable[[], str | None],
    account: Callable[[], str | None],
) -> RedshiftEphemeralError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", ""))
    if code in ACCESS_DENIED_CODES:
        match = _DENIED_MESSAGE.search(message)
        principal = match["principal"] if match else None
        denied_action = match["action"] if match else action
        denied_resource = (match["resource"] if match and match["resource"] else None) or resource()
        return AccessDeniedError(
            f"AWS denied {denied_action} to {principal or 'the current AWS identity'} on "
            f"{denied_resource or target_label}. Grant it with the policy that "
            "`redshift-ephemeral policy` prints for this target.",
            principal=principal,
            action=denied_action,
            resource=denied_resource,
            code=code,
            operation=operation,
        )
    if code in NOT_FOUND_CODES:
        where = f"region {region or '(default)'}"
        account_id = account()
        if account_id:
            where += f" of account {account_id}"
        return TargetNotFoundError(
            f"The {target_label} was not found in {where}. Check the name, --region and the "
            "AWS profile.",
            code=code,
            operation=operation,
        )
    if code in THROTTLING_CODES:
        return ThrottledError(
            f"AWS kept throttling {action} ({code}) after botocore's retries. Lower the call "
            "rate (credentials are cached; share one source), or raise max_attempts / use the "
            "'adaptive' retry mode.",
            code=code,
            operation=operation,
        )
    if code in UNAVAILABLE_CODES:
        return AwsError(
            f"AWS could not serve {action} ({code}) even after botocore's retries: the service "
            "is having trouble. Try again in a few minutes (AWS Health Dashboard shows outages).",
            code=code,
            operation=operation,
        )
    if code in EXPIRED_IDENTITY_CODES:
        return AwsIdentityError(
            f"AWS rejected the credentials ({code}): they are expired or invalid. {LOGIN_HINT}",
            code=code,
            operation=operation,
        )
    if code in ("InvalidParameterValue", "ValidationException", "InvalidParameterCombination"):
        return ConfigurationError(f"AWS rejected the request for {action}: {message}")
    return AwsError(
        f"AWS call {action} failed with {code}: {message}", code=code, operation=operation
    )
