"""What redshift_connector can be made to trust, decided before it connects: it takes no CA
parameter, so a custom CA is accepted only when OpenSSL's default store already holds it."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme

from redshift_ephemeral.errors import ConfigurationError
from redshift_ephemeral.tls import (
    amazon_roots_pem,
    amazon_trust_bundle,
    check_redshift_connector_trust,
    redshift_connector_trust,
)


@pytest.fixture
def private_ca(tmp_path: Path) -> str:
    path = tmp_path / "private-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def test_the_amazon_roots_need_no_check() -> None:
    check_redshift_connector_trust(None)
    check_redshift_connector_trust(amazon_trust_bundle())


def test_a_ca_outside_the_default_store_is_refused_naming_ssl_cert_file(private_ca: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_redshift_connector_trust(private_ca)
    assert private_ca in str(caught.value)
    assert "SSL_CERT_FILE" in str(caught.value)


def test_a_ca_the_default_store_holds_is_accepted(
    private_ca: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", private_ca)
    check_redshift_connector_trust(private_ca)
    assert private_ca in redshift_connector_trust()


@pytest.mark.parametrize("content", [None, "no certificate here\n"])
def test_a_file_without_a_certificate_is_never_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    path = tmp_path / "empty.pem"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))  # even when the store is that same file
    with pytest.raises(ConfigurationError, match="cannot be given a CA"):
        check_redshift_connector_trust(str(path))


def test_a_certifi_bundle_without_the_amazon_roots_says_to_upgrade_certifi() -> None:
    with pytest.raises(RuntimeError, match="pip install -U certifi"):
        amazon_roots_pem("# Some Other Root\n")


def test_a_ca_that_leaves_the_store_is_refused_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    store = tmp_path / "store.pem"
    system = Path(ssl.get_default_verify_paths().openssl_cafile).read_text()
    store.write_text(system + ca.read_text())
    monkeypatch.setenv("SSL_CERT_FILE", str(store))
    check_redshift_connector_trust(str(ca))
    check_redshift_connector_trust(str(ca))  # the parsed store is reused
    store.write_text(system)  # the CA is removed; same path, new content
    os.utime(store, ns=(1, 1))  # even with a clock that did not move forward
    with pytest.raises(ConfigurationError, match="cannot be given a CA"):
        check_redshift_connector_trust(str(ca))
