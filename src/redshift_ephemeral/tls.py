"""TLS policy: which sslmodes are allowed, and the trust bundle for Redshift's certificates.

Redshift's server certificates chain to Amazon Root CA 1-4 (ACM) or Starfield Services Root
G2. The bundle is cut from certifi's maintained ``cacert.pem`` - never a stale copy - and
written once per certifi version to a stable path that libpq's ``sslrootcert`` can name.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import certifi

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

_CERT_BLOCK = re.compile(
    r'^# Label: "(?P<label>[^"]+)"\n(?:#.*\n)*(?P<pem>-----BEGIN CERTIFICATE-----\n'
    r"[^-]+-----END CERTIFICATE-----\n)",
    re.MULTILINE,
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
    found = {m["label"]: m["pem"] for m in _CERT_BLOCK.finditer(cacert_pem)}
    missing = [label for label in AMAZON_ROOT_LABELS if label not in found]
    if missing:
        raise RuntimeError(
            f"certifi's bundle lacks {', '.join(missing)}; upgrade certifi "
            "(`pip install -U certifi`)."
        )
    return "".join(f"# {label}\n{found[label]}" for label in AMAZON_ROOT_LABELS)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "redshift-ephemeral"


def amazon_trust_bundle() -> str:
    """Path of a PEM file holding the Amazon roots, written on first use per certifi version."""
    name = f"amazon-roots-certifi-{certifi.__version__}.pem"
    fallback = Path(tempfile.gettempdir()) / f"redshift-ephemeral-{os.getuid()}"
    for directory in (_cache_dir(), fallback):
        path = directory / name
        if path.is_file():
            return str(path)
        try:
            with _bundle_lock:
                if not path.is_file():
                    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
                    pem = amazon_roots_pem(Path(certifi.where()).read_text(encoding="ascii"))
                    # Write aside, then rename: a reader never sees half a bundle.
                    fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
                    with os.fdopen(fd, "w", encoding="ascii") as handle:
                        handle.write(pem)
                    os.chmod(temporary, 0o644)
                    os.replace(temporary, path)
            return str(path)
        except OSError:
            continue
    raise ConfigurationError(
        "Could not write the Amazon trust bundle to ~/.cache or the temporary directory; set "
        "XDG_CACHE_HOME to a writable directory or pass sslrootcert."
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
