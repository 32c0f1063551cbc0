"""The stack's TLS material: a fresh local CA (trustme), the Redshift endpoint's certificate
for ``localhost``, ``127.0.0.1`` and ``::1``, and a CA bundle for clients that only trust
OpenSSL's default store.

* ``ca.pem`` - the stack's CA alone: ``sslrootcert`` / ``REDSHIFT_EPHEMERAL_SSLROOTCERT``.
* ``ca-bundle.pem`` - certifi's roots plus the stack's CA: ``SSL_CERT_FILE`` for
  redshift_connector (it has no CA parameter and loads OpenSSL's default verify paths), so
  an unmodified redshift_connector trusts the stack while every other TLS client in that
  shell still trusts the public roots.
* ``tls/`` (0700) - the endpoint's certificate chain and private key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PUBLIC_MODE = 0o644


@dataclass(frozen=True)
class StackCertificates:
    ca_path: Path
    bundle_path: Path
    certificate_path: Path
    key_path: Path

    @classmethod
    def create(cls, directory: Path) -> StackCertificates:
        """Write the CA, the bundle and the endpoint's key pair into ``directory``."""
        import certifi
        import trustme

        ca = trustme.CA(organization_name="redshift-ephemeral local CA")
        server = ca.issue_cert("localhost", "127.0.0.1", "::1")
        private = directory / "tls"
        private.mkdir(mode=0o700)
        made = cls(
            ca_path=directory / "ca.pem",
            bundle_path=directory / "ca-bundle.pem",
            certificate_path=private / "server.crt",
            key_path=private / "server.key",
        )
        ca.cert_pem.write_to_path(str(made.ca_path))
        roots = Path(certifi.where()).read_bytes()
        made.bundle_path.write_bytes(roots.rstrip(b"\n") + b"\n" + ca.cert_pem.bytes())
        for public in (made.ca_path, made.bundle_path):
            public.chmod(PUBLIC_MODE)
        for index, blob in enumerate(server.cert_chain_pems):
            blob.write_to_path(str(made.certificate_path), append=index > 0)
        server.private_key_pem.write_to_path(str(made.key_path))
        made.key_path.chmod(0o600)
        return made
