"""Keep issued passwords out of botocore's DEBUG log.

botocore logs every response body at DEBUG (``botocore.parsers``: "Response body: ..."),
which for the credential calls holds the database password, and for AssumeRole the secret
key. A filter on that logger blanks those values before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

from ..secret import REDACTED

_SECRET_FIELDS = (
    "DbPassword",
    "dbPassword",
    "SecretAccessKey",
    "secretAccessKey",
    "SessionToken",
    "sessionToken",
)
_XML_SECRET = re.compile(rb"<(?P<tag>" + "|".join(_SECRET_FIELDS).encode() + rb")>[^<]*</(?P=tag)>")
_JSON_SECRET = re.compile(
    rb'"(?P<field>' + "|".join(_SECRET_FIELDS).encode() + rb')"\s*:\s*"(?:[^"\\]|\\.)*"'
)


def redact_body(body: bytes) -> bytes:
    body = _XML_SECRET.sub(lambda m: b"<%s>%s</%s>" % (m["tag"], REDACTED.encode(), m["tag"]), body)
    return _JSON_SECRET.sub(lambda m: b'"%s": "%s"' % (m["field"], REDACTED.encode()), body)


class SecretRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_body(arg)
                if isinstance(arg, bytes)
                else redact_body(arg.encode()).decode()
                if isinstance(arg, str)
                else arg
                for arg in record.args
            )
        return True


_FILTER = SecretRedactingFilter()


def install() -> None:
    """Attach the filter to the botocore loggers that print bodies (idempotent)."""
    for name in ("botocore.parsers", "botocore.endpoint", "botocore.hooks"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
