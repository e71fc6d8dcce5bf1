"""The development PKI: what it makes, who can read it, and that it is safe to run twice."""

from __future__ import annotations

import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.cli import main
from gateway.security import pki


@pytest.fixture
def dev(tmp_path):
    return pki.init_dev_pki(tmp_path / "pki")


def test_everything_is_made_and_keys_are_owner_only(dev):
    files = [dev.ca_cert, dev.ca_key, dev.server_cert, dev.server_key, dev.gateway_signing_key, dev.checkpoint_key]
    files += [path for client in dev.clients.values() for path in (client.cert, client.key, client.signing_key)]
    assert all(path.exists() for path in files) and set(dev.clients) == {"imr", "al-omrane", "auditor"}
    assert stat.S_IMODE(dev.directory.stat().st_mode) == 0o700
    for key in dev.directory.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_running_twice_keeps_every_file(dev):
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in dev.directory.iterdir()}
    pki.init_dev_pki(dev.directory)
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in dev.directory.iterdir()} == before


def test_certificates_chain_to_the_ca_with_the_right_usages(dev):
    ca = pki.load_certificate(dev.ca_cert)
    server = pki.load_certificate(dev.server_cert)
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    for name, files in dev.clients.items():
        client = pki.load_certificate(files.cert)
        client.verify_directly_issued_by(ca)
        usages = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert f"CN={name}" in pki.subject_string(client).split(",")
        assert pki.load_private_key(files.key).public_key().public_numbers() == client.public_key().public_numbers()
        assert pki.load_private_key(files.signing_key).public_key().public_numbers() != client.public_key().public_numbers()


@pytest.mark.parametrize("name", ["", "A", "../x", "x/y", "-x" * 40, "imr.pem"])
def test_institution_names_cannot_be_path_tricks(dev, name):
    with pytest.raises(ValueError):
        pki.issue_client_certificate(dev.directory, name)


def test_gateway_pki_issue_reissues_and_prints_the_registry_entry(dev, capsys, monkeypatch):
    old = pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))
    monkeypatch.setenv("GATEWAY_PKI_DIR", str(dev.directory))
    assert main(["pki", "issue", "imr"]) == 0
    new = pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))
    assert new != old and f'"sha256": "{new}"' in capsys.readouterr().out


def test_gateway_migrate_and_pki_init_on_a_fresh_directory(tmp_path, monkeypatch):
    from sqlalchemy import create_engine, inspect

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    assert main(["migrate"]) == 0 and main(["migrate"]) == 0
    assert {"cases", "messages", "inbox_events"} <= set(inspect(create_engine(f"sqlite:///{tmp_path / 'g.db'}")).get_table_names())
    assert main(["pki", "init"]) == 0
    assert (tmp_path / "var" / "pki" / "ca.pem").exists() and (tmp_path / "var" / "registry.json").exists()


def test_invalid_settings_stop_the_command(monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_TRUST_PROXY_CLIENT_CERT", "true")
    assert main(["migrate"]) == 2
    assert "GATEWAY_TRUSTED_PROXIES" in capsys.readouterr().err
