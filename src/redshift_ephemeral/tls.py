"""TLS policy: which sslmodes are allowed, and the trust bundle for Redshift's certificates.

Redshift's server certificates chain to Amazon Root CA 1-4 (ACM) or Starfield Services Root
G2. The bundle is cut from certifi's maintained ``cacert.pem`` - never a stale copy - and
written once per certifi version to a stable, private path that libpq's ``sslrootcert`` can
name, and checked against certifi whenever it is handed out.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from ._private_files import UnsafePathError, private_directory, read_private, write_private
from .errors import ConfigurationError

AMAZON_ROOT_LABELS = (
    "Amazon Root CA 1",
    "Amazon Root CA 2",
    "Amazon Root CA 3",
    "Amazon Root CA 4",
    "Starfield Services Root Certificate Authority - G2",
)
VERIFYING_MODES = ("verify-full", "verify-ca")
ALLOWED_MODES = ("verify-full", "verify-ca", "require")
REFUSED_MODES = ("disable", "allow", "prefer")
DEFAULT_SSLMODE = "verify-full"

# ssl, tempfile and certifi (about 10 ms of imports), and these patterns, are loaded where
# they are used: a command served from the shared store with its own sslrootcert needs none.
_CERT_BLOCK = (
    r'(?m)^# Label: "(?P<label>[^"]+)"\n(?:#.*\n)*(?P<pem>-----BEGIN CERTIFICATE-----\n'
    r"[^-]+-----END CERTIFICATE-----\n)"
)
_bundle_lock = threading.Lock()


def validate_sslmode(sslmode: str) -> str:
    if sslmode in ALLOWED_MODES:
        return sslmode
    if sslmode in REFUSED_MODES:
        raise ConfigurationError(
            f"sslmode {sslmode!r} is refused: it would send the password without checking who "
            "the server is, or in clear text. Use 'verify-full' (default), 'verify-ca' or, if "
            "you must, 'require'."
        )
    raise ConfigurationError(
        f"Unknown sslmode {sslmode!r}: use 'verify-full' (default), 'verify-ca' or 'require'."
    )


def amazon_roots_pem(cacert_pem: str) -> str:
    """The Amazon and Starfield Services roots cut out of a certifi-format bundle."""
    found = {m["label"]: m["pem"] for m in re.finditer(_CERT_BLOCK, cacert_pem)}
    missing = [label for label in AMAZON_ROOT_LABELS if label not in found]
    if missing:
        raise RuntimeError(
            f"certifi's bundle lacks {', '.join(missing)}; upgrade certifi "
            "(`pip install -U certifi`)."
        )
    return "".join(f"# {label}\n{found[label]}" for label in AMAZON_ROOT_LABELS)


@functools.cache
def _expected_bundle(cacert_path: str) -> bytes:
    """The bundle certifi's file yields (read once per process)."""
    return amazon_roots_pem(Path(cacert_path).read_text(encoding="ascii")).encode("ascii")


def _bundle_directories() -> list[Path]:
    """Where the bundle may live, best first: the user's cache directory, the per-session
    runtime directory, then a per-user directory in the temporary directory."""
    import tempfile

    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates = [Path(cache_home) / "redshift-ephemeral"]
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(runtime) / "redshift-ephemeral")
    candidates.append(Path(tempfile.gettempdir()) / f"redshift-ephemeral-{os.getuid()}")
    return candidates


def amazon_trust_bundle() -> str:
    """Path of a PEM file holding exactly the Amazon roots of the installed certifi.

    The file is written once per certifi version into a private directory (see
    ``private_files``) and, on every call, read back and compared with what certifi yields:
    a file someone else planted or changed is never handed to a driver, it is rewritten."""
    import certifi

    expected = _expected_bundle(certifi.where())
    name = f"amazon-roots-certifi-{certifi.__version__}.pem"
    refused: list[str] = []
    for directory in _bundle_directories():
        path = directory / name
        try:
            with _bundle_lock:
                private_directory(directory)
                if read_private(path) != expected:
                    write_private(path, expected)
        except (OSError, UnsafePathError) as error:  # try the next place
            refused.append(f"{directory} ({error})")
            continue
        return str(path)
    raise ConfigurationError(
        "Could not write the Amazon trust bundle to a private directory; tried "
        + "; ".join(refused)
        + ". Set XDG_CACHE_HOME to a directory of yours, or pass sslrootcert."
    )


# -- redshift_connector's trust ----------------------------------------------------------------

_PEM_CERTIFICATE = r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----"


def _certificates(path: str | None) -> frozenset[bytes]:
    """The certificates (DER) of a PEM file; empty if there is none or it cannot be read.
    Parsed once per version of the file: the check runs at every redshift_connector connect,
    and the system store holds well over a hundred certificates."""
    if path is None:
        return frozenset()
    try:
        info = os.stat(path)
    except OSError:
        return frozenset()
    return _parsed_certificates(path, info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _parsed_certificates(path: str, size: int, mtime_ns: int) -> frozenset[bytes]:
    """``size`` and ``mtime_ns`` are the cache key: a rewritten file is parsed again."""
    import ssl

    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    certificates = set()
    for block in re.findall(_PEM_CERTIFICATE, text):
        with contextlib.suppress(ValueError):
            certificates.add(ssl.PEM_cert_to_DER_cert(block))
    return frozenset(certificates)


def redshift_connector_bundle() -> str | None:
    """The CA bundle redshift_connector ships and always trusts (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("redshift_connector")
    if spec is None or spec.origin is None:
        return None
    return str(Path(spec.origin).parent / "files" / "redshift-ca-bundle.crt")


def redshift_connector_trust() -> str:
    """What redshift_connector trusts, in words: it has no parameter for a CA, so it is not
    ``sslrootcert`` but OpenSSL's default store plus the bundle it ships."""
    import ssl

    paths = ssl.get_default_verify_paths()
    return (
        f"OpenSSL's default CA file {paths.cafile or paths.openssl_cafile} (SSL_CERT_FILE) and "
        f"directory {paths.capath or paths.openssl_capath} (SSL_CERT_DIR), plus its own "
        f"bundle {redshift_connector_bundle()}"
    )


def check_redshift_connector_trust(sslrootcert: str | None) -> None:
    """redshift_connector verifies the server against OpenSSL's default store and its own
    bundle, whatever ``sslrootcert`` says, and changing the store would change it for the whole
    process. So a custom CA is used with it only when that store already trusts it (e.g.
    ``SSL_CERT_FILE`` names a bundle holding it); otherwise this refuses, naming the fix.
    The Amazon roots (the default) need no check: they are what the driver is built for."""
    if sslrootcert is None or sslrootcert == amazon_trust_bundle():
        return
    import ssl

    wanted = _certificates(sslrootcert)
    trusted = _certificates(ssl.get_default_verify_paths().cafile) | _certificates(
        redshift_connector_bundle()
    )
    if wanted and wanted <= trusted:
        return
    raise ConfigurationError(
        f"redshift_connector cannot be given a CA: it trusts {redshift_connector_trust()}, and "
        f"the CA in {sslrootcert} is not among them. Add it to the file SSL_CERT_FILE names "
        "(for the local stack: the SSL_CERT_FILE that `redshift-ephemeral local env` exports), "
        "or use the psycopg or psycopg2 driver, which trust exactly sslrootcert."
    )


@dataclass(frozen=True)
class TlsSettings:
    """How to verify the server. ``sslrootcert=None`` means the Amazon trust bundle."""

    sslmode: str = DEFAULT_SSLMODE
    sslrootcert: str | None = None

    def __post_init__(self) -> None:
        validate_sslmode(self.sslmode)
        if self.sslrootcert is not None and not Path(self.sslrootcert).is_file():
            raise ConfigurationError(
                f"sslrootcert {self.sslrootcert!r} is not a readable file: give the path of a "
                "PEM file with the CA that signed the server's certificate."
            )

    def root_certificate(self) -> str:
        return self.sslrootcert if self.sslrootcert is not None else amazon_trust_bundle()
