"""Revocation: `gateway pki revoke` writes the development CA's CRL, `registry apply` or SIGHUP puts
it in force, and every gateway process refuses the certificate from then on, at the TLS handshake
and on connections opened before; a forwarded certificate too. Over real TLS, without a restart."""

from __future__ import annotations

import logging
import os
import signal
import ssl
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.cli import main
from gateway.ops import hangup
from gateway.security import pki
from gateway.server import background_gateway
from tests.api.test_proxy_identity import rfc9440
from tests.conftest import wait_until
from tests.registry.conftest import apply, as_unit, serves_version


def https(url: str, settings, name: str) -> httpx.Client:
    files = pki.ClientFiles.at(settings.pki_dir, name)
    context = ssl.create_default_context(cafile=str(settings.pki_dir / "ca.pem"))
    context.load_cert_chain(files.cert, files.key)
    return httpx.Client(base_url=url, verify=context, timeout=10)


def refused_at_the_handshake(url: str, settings, name: str) -> bool:
    with https(url, settings, name) as client:
        try:
            client.get("/v1/me")
        except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            return True
    return False


@contextmanager
def sighup_routed():
    """SIGHUP handled as `gateway serve` handles it, for this test only."""
    previous = signal.getsignal(signal.SIGHUP)
    hangup.install()
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.tls
def test_a_revoked_certificate_is_refused_by_every_process_without_restart(own_settings, capsys, engine_sql):
    apps = [create_app(own_settings), create_app(own_settings)]  # two gateway processes on one database
    with ExitStack() as stack:
        urls = [stack.enter_context(background_gateway(own_settings, app)) for app in apps]
        already_open = stack.enter_context(https(urls[0], own_settings, "imr"))
        assert already_open.get("/v1/me").status_code == 200

        assert main(["pki", "revoke", "imr"]) == 0
        assert (own_settings.pki_dir / "crl.pem").exists()
        assert apply(capsys)[0] == 0
        for app in apps:  # each process picks the version up with its next poll
            wait_until(lambda: app.state.runtime.trust.version == 2)

        for url in urls:
            assert refused_at_the_handshake(url, own_settings, "imr")
            with https(url, own_settings, "al-omrane") as other:
                assert other.get("/v1/me").status_code == 200
        late = already_open.get("/v1/me")  # a connection opened before: refused from its next request
        assert late.status_code == 401 and late.json()["type"] == "/problems/client-certificate-invalid"
    serial = pki.load_certificate(pki.ClientFiles.at(own_settings.pki_dir, "imr").cert).serial_number
    detail = engine_sql("SELECT detail FROM ledger_entries WHERE kind = 'registry_changed' ORDER BY seq DESC").first()[0]
    assert f'{{"change":"certificate_revoked","serial":"{serial:x}"}}' in detail


def test_sighup_applies_the_files_in_the_running_process(running, own_settings, test_pki):
    gateway = running()
    with sighup_routed():
        pki.revoke_client_certificate(own_settings.pki_dir, "al-omrane", own_settings.pki_dir / "crl.pem")
        os.kill(os.getpid(), signal.SIGHUP)
        serves_version(gateway, 2)
    assert gateway.app.state.runtime.trust.revocations.serials == {
        pki.load_certificate(test_pki.files("al-omrane").cert).serial_number}


def test_sighup_with_an_invalid_file_keeps_the_version_in_force_and_says_why(running, own_settings, test_pki, caplog):
    gateway = running()
    own_settings.registry_file.write_text("{not json")
    with sighup_routed(), caplog.at_level(logging.ERROR, logger="gateway.jobs"):
        os.kill(os.getpid(), signal.SIGHUP)
        wait_until(lambda: any("registry not applied" in record.getMessage() for record in caplog.records))
    [line] = [record.getMessage() for record in caplog.records if "registry not applied" in record.getMessage()]
    assert "GATEWAY_REGISTRY_FILE" in line and "\n" not in line
    assert gateway.app.state.runtime.trust.version == 1
    assert as_unit(gateway, test_pki.files("imr"), "imr").get("/v1/me").status_code == 200


def test_a_revoked_certificate_forwarded_by_the_proxy_is_refused(running, own_settings, capsys):
    gateway = running(trust_proxy_client_cert=True, trusted_proxies=["127.0.0.1/32"])
    proxy = TestClient(gateway.app, client=("127.0.0.1", 50000))
    forwarded = {"Client-Cert": rfc9440(pki.ClientFiles.at(own_settings.pki_dir, "imr").cert)}
    assert proxy.get("/v1/me", headers=forwarded).status_code == 200
    assert main(["pki", "revoke", "imr"]) == 0 and apply(capsys)[0] == 0
    serves_version(gateway, 2)
    refused = proxy.get("/v1/me", headers=forwarded)
    assert refused.status_code == 401 and refused.json()["type"] == "/problems/client-certificate-invalid"


def test_a_crl_not_signed_by_the_client_ca_or_missing_is_a_one_line_configuration_error(own_settings, cli_env, capsys, tmp_path):
    rogue = tmp_path / "rogue"
    rogue.mkdir()
    pki.CertificateAuthority.generate("Rogue CA").write(rogue / "ca.pem", rogue / "ca.key")
    pki.CertificateAuthority.load(rogue).issue_client(rogue, "imr")
    pki.revoke_client_certificate(rogue, "imr", rogue / "crl.pem")
    for crl, why in ((rogue / "crl.pem", "not signed by the client CA"), (tmp_path / "absent.pem", "does not exist")):
        cli_env.setenv("GATEWAY_CLIENT_CRL", str(crl))
        status, printed = apply(capsys)
        assert status == 2 and printed.count("\n") == 1 and printed.startswith("gateway: configuration error: GATEWAY_CLIENT_CRL")
        assert why in printed


def test_a_crl_past_its_next_update_is_refused(own_settings, capsys):
    pki.revoke_client_certificate(own_settings.pki_dir, "imr", own_settings.pki_dir / "crl.pem", lifetime=timedelta(seconds=-1))
    status, printed = apply(capsys)
    assert status == 2 and "GATEWAY_CLIENT_CRL" in printed and f"{datetime.now(UTC):%Y-%m-%d}" in printed
