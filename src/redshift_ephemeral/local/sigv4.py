"""SigV4 request authentication for the local stack, with botocore's own signer.

The request is rebuilt from what arrived (method, the raw path and query, the signed
headers, the body) as a botocore ``AWSRequest``; ``SigV4Auth`` computes the signature the
sender should have made with the key's secret, and the two are compared in constant time.
Which key a request names, and what it stands for, is the caller's business
(``identities.py``): this module knows a key only as ``SigningKey``.

Errors carry AWS's codes and messages for the query protocol; ``JSON_CODES`` gives the JSON
protocol's names for the same faults (redshift-serverless answers those).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=15)  # AWS refuses signatures older or newer than this
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;_.-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
JSON_CODES = {
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "ExpiredToken": "ExpiredTokenException",
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
    "IncompleteSignature": "IncompleteSignatureException",
}


class AuthenticationError(Exception):
    """The request is not signed by a key the stack knows, as AWS would say it."""

    def __init__(self, code: str, message: str, status: int = 403):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def invalid_token() -> AuthenticationError:
    return AuthenticationError(
        "InvalidClientTokenId", "The security token included in the request is invalid."
    )


@dataclass(frozen=True)
class SigningKey:
    """What the stack knows about an access key: its secret, and for temporary keys (STS)
    the session token that must come with it and when it expires."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Authorization:
    """The parsed ``Authorization`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @classmethod
    def parse(cls, header: str | None) -> Authorization:
        if not header:
            raise AuthenticationError(
                "MissingAuthenticationToken", "Request is missing Authentication Token"
            )
        match = _AUTHORIZATION.match(header.strip())
        if match is None:
            raise AuthenticationError(
                "IncompleteSignature",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                f"parameters, signed with {ALGORITHM}.",
                400,
            )
        return cls(
            access_key_id=match["key"],
            date=match["date"],
            region=match["region"],
            service=match["service"],
            signed_headers=tuple(match["headers"].split(";")),
            signature=match["signature"],
        )


@dataclass(frozen=True)
class ReceivedRequest:
    """An HTTP request as it arrived: method, raw path and query, headers, body."""

    method: str
    path: str  # as sent, percent-encoding intact
    query: str
    headers: Mapping[str, str]  # lowercase names
    body: bytes

    @classmethod
    def from_wsgi(cls, environ: Mapping[str, Any], body: bytes) -> ReceivedRequest:
        raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
        path, _, query = raw_uri.partition("?")
        if not path:
            path = quote(str(environ.get("PATH_INFO", "/")))
            query = str(environ.get("QUERY_STRING", ""))
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = str(environ[key])
        return cls(str(environ.get("REQUEST_METHOD", "GET")), path, query, headers, body)


def verify(
    request: ReceivedRequest,
    authorization: Authorization,
    key: SigningKey | None,
    now: datetime,
) -> None:
    """Raise ``AuthenticationError`` unless ``request`` is signed with ``key`` (the key the
    request names, None if the stack does not know it), unexpired, at about ``now``."""
    if key is None:
        raise invalid_token()
    token = request.headers.get("x-amz-security-token")
    if key.session_token is None:
        if token is not None:
            raise invalid_token()
    elif token is None or not hmac.compare_digest(token, key.session_token):
        raise invalid_token()
    if key.expires_at is not None and now >= key.expires_at:
        raise AuthenticationError(
            "ExpiredToken", "The security token included in the request is expired"
        )
    claimed = request.headers.get("x-amz-content-sha256")
    if claimed is not None and not hmac.compare_digest(
        claimed, hashlib.sha256(request.body).hexdigest()
    ):
        # botocore's canonical request takes this header's word for the body's hash: a claim
        # that is not the body's hash (UNSIGNED-PAYLOAD included) would leave the body unsigned.
        raise AuthenticationError(
            "SignatureDoesNotMatch",
            "The x-amz-content-sha256 header is not the SHA-256 of the request body: these "
            "services sign the body.",
        )
    signed_at = request.headers.get("x-amz-date", "")
    # The scope's date must be the signing date: botocore derives the key from the former.
    expected = (
        expected_signature(request, authorization, key)
        if signed_at.startswith(authorization.date)
        else ""
    )
    if not hmac.compare_digest(expected, authorization.signature):
        raise AuthenticationError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.",
        )
    _check_clock(request, now)


def expected_signature(
    request: ReceivedRequest, authorization: Authorization, key: SigningKey
) -> str:
    """The signature botocore's ``SigV4Auth`` makes for this request with ``key``."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = set(authorization.signed_headers)
    headers = {name: value for name, value in request.headers.items() if name in signed}
    host = request.headers.get("host", "")
    url = f"http://{host}{request.path}" + (f"?{request.query}" if request.query else "")
    rebuilt = AWSRequest(method=request.method, url=url, data=request.body, headers=headers)
    rebuilt.context["timestamp"] = request.headers.get("x-amz-date", "")
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    signer = SigV4Auth(credentials, authorization.service, authorization.region)
    canonical = signer.canonical_request(rebuilt)
    string_to_sign = signer.string_to_sign(rebuilt, canonical)
    return str(signer.signature(string_to_sign, rebuilt))


def _check_clock(request: ReceivedRequest, now: datetime) -> None:
    stamp = request.headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthenticationError(
            "IncompleteSignature", "The request must contain an X-Amz-Date header.", 400
        ) from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        limit = (now - MAX_CLOCK_SKEW).strftime("%Y%m%dT%H%M%SZ")
        raise AuthenticationError(
            "SignatureDoesNotMatch",
            f"Signature expired: {stamp} is now earlier than {limit} "
            f"({now.strftime('%Y%m%dT%H%M%SZ')} - 15 min.)",
        )
