"""The one error type of the emulator: an AWS error answered in the service's own wire format."""

from __future__ import annotations

from ..sigv4 import JSON_CODES

# The rest speak the query protocol.
JSON_SERVICES = frozenset({"redshift-serverless", "redshift-data"})


class AwsFault(Exception):
    """An error answered in the service's own wire format."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def for_service(self, service: str) -> AwsFault:
        """The same fault under the JSON protocol's name where the two protocols differ
        (``InvalidClientTokenId`` is ``UnrecognizedClientException`` in JSON services)."""
        if service in JSON_SERVICES and self.code in JSON_CODES:
            return AwsFault(JSON_CODES[self.code], self.message, self.status)
        return self


def access_denied(service: str, message: str) -> AwsFault:
    return AwsFault(
        "AccessDeniedException" if service in JSON_SERVICES else "AccessDenied", message, 403
    )


def invalid_parameter(service: str, message: str) -> AwsFault:
    return AwsFault(
        "ValidationException" if service in JSON_SERVICES else "InvalidParameterValue", message
    )


def unknown_operation(service: str, operation: str) -> AwsFault:
    """What AWS answers for an action it does not have (here: one the stack does not
    emulate); botocore does not retry either."""
    if service in JSON_SERVICES:
        return AwsFault(
            "UnknownOperationException",
            f"{operation or 'The operation'} is not emulated by the local stack.",
        )
    return AwsFault(
        "InvalidAction",
        f"The action {operation or '(none)'} is not valid for this web service "
        "(not emulated by the local stack).",
    )
