"""Client certificates forwarded by a TLS-terminating proxy: honoured only when enabled and only
from the configured proxy addresses (real nginx in front is exercised in tests/tls)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.security import pki


def rfc9440(cert_path) -> str:
    der = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_bytes(Encoding.DER)
    return ":" + base64.b64encode(der).decode() + ":"


def nginx_escaped(cert_path) -> str:
    return quote(cert_path.read_text(), safe="")


@pytest.fixture
def proxied(settings):
    """The app as seen through a proxy at 127.0.0.1 (TestClient's peer is 'testclient' unless set)."""

    def make(trusted: str | None, peer: str):
        overrides = {"trust_proxy_client_cert": True, "trusted_proxies": [trusted]} if trusted else {}
        app = create_app(settings.model_copy(update=overrides))
        return app, TestClient(app, client=(peer, 50000))

    return make


@pytest.mark.parametrize("encode", [rfc9440, nginx_escaped])
def test_a_trusted_proxy_forwards_the_certificate(proxied, test_pki, encode):
    app, client = proxied("127.0.0.1/32", "127.0.0.1")
    with client:
        me = client.get("/v1/me", headers={"Client-Cert": encode(test_pki.dev.clients["al-omrane"].cert)})
    assert me.status_code == 200 and me.json()["id"] == "al-omrane"


def test_the_header_is_ignored_from_other_addresses(proxied, test_pki):
    app, client = proxied("10.1.2.3", "127.0.0.1")
    with client:
        forged = client.get("/v1/me", headers={"Client-Cert": rfc9440(test_pki.dev.clients["imr"].cert)})
    assert forged.status_code == 401 and forged.json()["type"] == "/problems/client-certificate-required"


def test_the_header_is_ignored_when_proxy_mode_is_off(proxied, test_pki):
    app, client = proxied(None, "127.0.0.1")
    with client:
        forged = client.get("/v1/me", headers={"Client-Cert": rfc9440(test_pki.dev.clients["imr"].cert)})
    assert forged.status_code == 401


def test_forwarded_certificates_are_still_checked(proxied, test_pki, tmp_path):
    app, client = proxied("127.0.0.1", "127.0.0.1")
    rogue = pki.CertificateAuthority.generate("Rogue CA").issue_client(tmp_path, "imr")
    now = datetime.now(UTC)
    directory = tmp_path / "dev"
    directory.mkdir()
    for name in ("ca.pem", "ca.key"):
        (directory / name).write_bytes((test_pki.dev.directory / name).read_bytes())
    expired = pki.issue_client_certificate(directory, "imr", not_before=now - timedelta(days=9), not_after=now - timedelta(days=1))
    with client:
        for files, reason in ((rogue, "not issued by the client CA"), (expired, "outside its validity period")):
            response = client.get("/v1/me", headers={"Client-Cert": rfc9440(files.cert)})
            assert response.status_code == 401 and reason in response.json()["detail"]
        garbage = client.get("/v1/me", headers={"Client-Cert": ":bm90IGEgY2VydA==:"})
        assert garbage.status_code == 401 and garbage.json()["type"] == "/problems/client-certificate-invalid"


def test_settings_refuse_proxy_mode_without_proxies(settings):
    with pytest.raises(ValueError):
        settings.__class__(trust_proxy_client_cert=True, trusted_proxies=[], _env_file=None)
