"""One error hierarchy. Every message names the cause and the fix, and never a password.

RedshiftEphemeralError
├── ConfigurationError          bad input, caught before any AWS call
├── AwsError                    AWS identity or API
│   ├── AwsIdentityError        no / expired AWS credentials
│   ├── AccessDeniedError       names principal, action, resource
│   ├── TargetNotFoundError     names target, region, account
│   ├── ThrottledError          still throttled after botocore's retries
│   └── CredentialExpiredOnArrivalError  issued already expired (a wrong clock)
└── DatabaseConnectionError     TLS, network, refused login
    └── QueryError              the database refused a statement

The command line maps these types to its exit codes (``cli/main.py``); the library knows none.
"""

from __future__ import annotations


class RedshiftEphemeralError(Exception):
    """Base of every error this library raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt without calling __init__, whose keyword-only arguments the default
        # (type(self)(*self.args)) cannot pass: copy and pickle keep the type and attributes.
        return (_rebuild, (type(self), self.args), dict(vars(self)))


def _rebuild(cls: type[RedshiftEphemeralError], args: tuple[object, ...]) -> RedshiftEphemeralError:
    error = cls.__new__(cls)
    error.args = args
    return error


class ConfigurationError(RedshiftEphemeralError, ValueError):
    """The request cannot be valid: a name breaks AWS's rules, options conflict, a value is
    out of range. Raised before any AWS call is made."""


class AwsError(RedshiftEphemeralError):
    """AWS refused or failed a call (after botocore's own retries)."""

    def __init__(self, message: str, *, code: str | None = None, operation: str | None = None):
        super().__init__(message)
        self.code = code
        self.operation = operation


class AwsIdentityError(AwsError):
    """No usable AWS identity: no credentials, an expired SSO session or STS token."""


class AccessDeniedError(AwsError):
    """The AWS principal may not perform the action on the resource."""

    def __init__(
        self,
        message: str,
        *,
        principal: str | None,
        action: str,
        resource: str | None,
        code: str | None = None,
        operation: str | None = None,
    ):
        super().__init__(message, code=code, operation=operation)
        self.principal = principal
        self.action = action
        self.resource = resource


class TargetNotFoundError(AwsError):
    """The cluster or workgroup does not exist in that region and account."""


class ThrottledError(AwsError):
    """AWS kept throttling after botocore's retries were spent."""


class CredentialExpiredOnArrivalError(AwsError):
    """The password AWS issued had already expired when it arrived: a clock is wrong."""


class DatabaseConnectionError(RedshiftEphemeralError, ConnectionError):
    """The database could not be reached, its TLS identity could not be verified, or it
    refused the login."""


class QueryError(DatabaseConnectionError):
    """The database refused a statement (permissions, syntax)."""
