"""SigV4 verification: a request signed by botocore verifies; any change to it, the key, the
token or the clock does not, with AWS's error codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from redshift_ephemeral.local.sigv4 import (
    AuthenticationError,
    Authorization,
    ReceivedRequest,
    SigningKey,
    verify,
)

KEY = SigningKey("AKIAEXAMPLEKEY000001", "secret-one")
SESSION = SigningKey(
    "ASIAEXAMPLEKEY000001",
    "secret-two",
    session_token="token-two",
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
)
BODY = b"Action=GetClusterCredentials&Version=2012-12-01&DbUser=alice"


def signed(
    key: SigningKey,
    *,
    body: bytes = BODY,
    when: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[ReceivedRequest, Authorization, datetime]:
    """A request as botocore signs it, then as the emulator receives it."""
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            **(extra_headers or {}),
        },
    )
    signer = SigV4Auth(
        Credentials(key.access_key_id, key.secret_access_key, key.session_token),
        "redshift",
        "us-east-1",
    )
    signer.add_auth(request)
    headers = {name.lower(): str(value) for name, value in request.headers.items()}
    headers["host"] = "127.0.0.1:4566"
    received = ReceivedRequest("POST", "/", "", headers, body)
    now = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return received, Authorization.parse(headers["authorization"]), when or now


def code(call: object) -> str:
    with pytest.raises(AuthenticationError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_a_request_signed_by_botocore_verifies() -> None:
    received, authorization, now = signed(KEY)
    verify(received, authorization, KEY, now)
    assert authorization.service == "redshift"
    assert authorization.region == "us-east-1"


def test_a_session_key_with_its_token_verifies() -> None:
    received, authorization, now = signed(SESSION)
    verify(received, authorization, SESSION, now)


def test_an_unknown_key_is_an_invalid_client_token() -> None:
    received, authorization, now = signed(KEY)
    assert code(lambda: verify(received, authorization, None, now)) == "InvalidClientTokenId"


def test_a_wrong_secret_does_not_match() -> None:
    received, authorization, now = signed(SigningKey(KEY.access_key_id, "wrong"))
    assert code(lambda: verify(received, authorization, KEY, now)) == "SignatureDoesNotMatch"


def test_a_changed_body_does_not_match() -> None:
    received, authorization, now = signed(KEY)
    tampered = ReceivedRequest(
        received.method,
        received.path,
        received.query,
        received.headers,
        BODY.replace(b"alice", b"admin"),
    )
    assert code(lambda: verify(tampered, authorization, KEY, now)) == "SignatureDoesNotMatch"


def test_a_changed_signed_header_does_not_match() -> None:
    received, authorization, now = signed(KEY)
    headers = dict(received.headers, host="127.0.0.1:9999")
    tampered = ReceivedRequest(
        received.method, received.path, received.query, headers, received.body
    )
    assert code(lambda: verify(tampered, authorization, KEY, now)) == "SignatureDoesNotMatch"


def test_an_expired_session_is_expired_token() -> None:
    received, authorization, now = signed(SESSION)
    expired = SigningKey(
        SESSION.access_key_id,
        SESSION.secret_access_key,
        SESSION.session_token,
        now - timedelta(seconds=1),
    )
    assert code(lambda: verify(received, authorization, expired, now)) == "ExpiredToken"


def test_a_session_key_without_or_with_a_wrong_token_is_invalid() -> None:
    received, authorization, now = signed(
        SigningKey(SESSION.access_key_id, SESSION.secret_access_key)
    )
    assert code(lambda: verify(received, authorization, SESSION, now)) == "InvalidClientTokenId"
    other = SigningKey(
        SESSION.access_key_id, SESSION.secret_access_key, "other-token", SESSION.expires_at
    )
    received, authorization, now = signed(other)
    assert code(lambda: verify(received, authorization, SESSION, now)) == "InvalidClientTokenId"


def test_a_long_term_key_with_a_token_is_invalid() -> None:
    with_token = SigningKey(KEY.access_key_id, KEY.secret_access_key, "token")
    received, authorization, now = signed(with_token)
    assert code(lambda: verify(received, authorization, KEY, now)) == "InvalidClientTokenId"


def test_a_signature_older_than_fifteen_minutes_is_refused() -> None:
    received, authorization, now = signed(KEY)
    late = now + timedelta(minutes=16)
    assert code(lambda: verify(received, authorization, KEY, late)) == "SignatureDoesNotMatch"
    verify(received, authorization, KEY, now + timedelta(minutes=14))


def test_missing_and_malformed_authorization() -> None:
    assert code(lambda: Authorization.parse(None)) == "MissingAuthenticationToken"
    assert code(lambda: Authorization.parse("AWS AKIA:abc")) == "IncompleteSignature"


def test_from_wsgi_keeps_the_raw_path_and_content_headers() -> None:
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/a%20b?x=1",
        "PATH_INFO": "/a b",
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "CONTENT_LENGTH": "2",
        "HTTP_HOST": "127.0.0.1:1",
        "HTTP_X_AMZ_DATE": "20240101T000000Z",
    }
    received = ReceivedRequest.from_wsgi(environ, b"{}")
    assert (received.path, received.query) == ("/a%20b", "x=1")
    assert received.headers["content-type"] == "application/x-amz-json-1.1"
    assert received.headers["x-amz-date"] == "20240101T000000Z"


@pytest.mark.parametrize(
    "claim", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "0" * 64]
)
def test_a_signature_that_does_not_cover_the_body_is_refused(claim: str) -> None:
    """botocore signs the claimed x-amz-content-sha256 instead of hashing the body: a request
    signed over an empty body with such a claim, then sent with another body, must fail."""
    received, authorization, now = signed(
        KEY, body=b"", extra_headers={"X-Amz-Content-SHA256": claim}
    )
    swapped = ReceivedRequest(
        received.method, received.path, received.query, received.headers, BODY
    )
    assert code(lambda: verify(swapped, authorization, KEY, now)) == "SignatureDoesNotMatch"


def test_a_true_payload_hash_header_verifies() -> None:
    import hashlib

    digest = hashlib.sha256(BODY).hexdigest()
    received, authorization, now = signed(KEY, extra_headers={"X-Amz-Content-SHA256": digest})
    verify(received, authorization, KEY, now)
