"""The development PKI: what it makes, who can read it, that it is safe to run twice, and that real
TLS stacks accept exactly the certificates they should."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.cli import main
from gateway.security import pki
from imr_alomrane_gateway_client.signers import load_private_key
from gateway.security.dev import DEV_PROFILES, registry_entry
from gateway.security.registry import Registry


@pytest.fixture
def dev(tmp_path) -> pki.DevPki:
    return pki.init_dev_pki(tmp_path / "pki")


def _snapshot(directory):
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_mode) for path in directory.iterdir()}


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _days(certificate: x509.Certificate) -> float:
    return (certificate.not_valid_after_utc - certificate.not_valid_before_utc) / timedelta(days=1)


# --- files, modes, idempotence -------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_init_makes_every_file_and_only_the_owner_can_read_keys(tmp_path, umask):
    previous = os.umask(umask)
    try:
        dev = pki.init_dev_pki(tmp_path / "var" / "pki")
    finally:
        os.umask(previous)
    assert set(dev.clients) == {institution.name for institution in pki.DEV_INSTITUTIONS} >= {"imr", "al-omrane", "auditor"}
    keys = [dev.ca_key, dev.server_key, dev.gateway_signing_key, dev.checkpoint_key, dev.master_key]
    keys += [path for files in dev.clients.values() for path in (files.key, files.signing_key, files.bundle, files.bundle_password)]
    certificates = [dev.ca_cert, dev.server_cert, *(files.cert for files in dev.clients.values())]
    assert sorted(path.name for path in dev.directory.iterdir()) == sorted(path.name for path in keys + certificates)
    assert _mode(dev.directory) == 0o700
    assert {path.name: _mode(path) for path in keys} == {path.name: 0o600 for path in keys}
    assert {path.name: _mode(path) for path in certificates} == {path.name: 0o644 for path in certificates}


def test_private_keys_are_created_owner_only_never_narrowed_afterwards(tmp_path, monkeypatch):
    created: dict[str, int] = {}
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created[os.path.basename(path)] = mode
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    dev = pki.init_dev_pki(tmp_path / "pki")
    monkeypatch.undo()
    key_files = {path.name for path in dev.directory.glob("*.key")}
    created_keys = {name: mode for name, mode in created.items() if ".key." in name}
    # every key went through os.open(..., 0o600): the CA's, the server's, the gateway's three, two per client
    assert len(created_keys) == len(key_files) == 5 + 2 * len(pki.DEV_INSTITUTIONS)
    assert set(created_keys.values()) == {0o600}


def test_running_twice_changes_nothing(dev):
    before = _snapshot(dev.directory)
    fingerprints = {name: pki.certificate_fingerprint(pki.load_certificate(files.cert)) for name, files in dev.clients.items()}
    assert pki.init_dev_pki(dev.directory) == dev
    assert _snapshot(dev.directory) == before
    assert {name: pki.certificate_fingerprint(pki.load_certificate(files.cert)) for name, files in dev.clients.items()} == fingerprints


def test_only_missing_files_are_made_again(dev):
    before = _snapshot(dev.directory)
    dev.clients["imr"].key.unlink()
    dev.clients["al-omrane"].signing_key.unlink()
    pki.init_dev_pki(dev.directory)
    after = _snapshot(dev.directory)
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"imr.pem", "imr.key", "imr.p12", "imr.p12.password", "al-omrane-signing.key"}  # al-omrane's certificate is kept
    pki.load_certificate(dev.clients["imr"].cert).verify_directly_issued_by(pki.load_certificate(dev.ca_cert))


def test_a_new_ca_reissues_every_certificate_but_keeps_signing_keys(dev):
    before = _snapshot(dev.directory)
    dev.ca_cert.unlink()
    dev.ca_key.unlink()
    pki.init_dev_pki(dev.directory)
    after = _snapshot(dev.directory)
    ca = pki.load_certificate(dev.ca_cert)
    for path in [dev.server_cert, *(files.cert for files in dev.clients.values())]:
        assert after[path.name] != before[path.name]
        pki.load_certificate(path).verify_directly_issued_by(ca)
    for path in [dev.gateway_signing_key, dev.checkpoint_key, dev.master_key, *(f.signing_key for f in dev.clients.values())]:
        assert after[path.name] == before[path.name]


@pytest.mark.parametrize("kept", ["ca.pem", "ca.key"])
def test_half_a_ca_is_refused_rather_than_replaced(dev, kept):
    other = dev.ca_key if kept == "ca.pem" else dev.ca_cert
    other.unlink()
    before = _snapshot(dev.directory)
    with pytest.raises(FileNotFoundError, match="incomplete development CA"):
        pki.init_dev_pki(dev.directory)
    assert _snapshot(dev.directory) == before


def test_a_ca_key_that_does_not_match_its_certificate_is_refused(dev):
    pki.write_private_key(dev.ca_key, ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ValueError, match="not the private key"):
        pki.CertificateAuthority.load(dev.directory)


# --- certificate profiles ------------------------------------------------------------------------


def _extension(certificate: x509.Certificate, kind: type) -> x509.Extension:
    return certificate.extensions.get_extension_for_class(kind)


def test_the_ca_is_a_self_signed_p256_ca_for_ten_years(dev):
    ca = pki.load_certificate(dev.ca_cert)
    ca.verify_directly_issued_by(ca)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey) and isinstance(ca.public_key().curve, ec.SECP256R1)
    constraints = _extension(ca, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = _extension(ca, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    assert _extension(ca, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())
    assert _days(ca) == 3650


def test_the_server_certificate_is_for_localhost_under_the_ca(dev):
    ca, server = pki.load_certificate(dev.ca_cert), pki.load_certificate(dev.server_cert)
    server.verify_directly_issued_by(ca)
    names = _extension(server, x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert list(_extension(server, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not _extension(server, x509.BasicConstraints).value.ca
    assert _days(server) == 825
    verifier = verification.PolicyBuilder().store(verification.Store([ca])).build_server_verifier(x509.DNSName("localhost"))
    assert verifier.verify(server, []) == [server, ca]


def test_client_certificates_name_their_institution_and_chain_to_the_ca(dev):
    ca = pki.load_certificate(dev.ca_cert)
    verifier = verification.PolicyBuilder().store(verification.Store([ca])).build_client_verifier()
    for institution in pki.DEV_INSTITUTIONS:
        files = dev.clients[institution.name]
        client = pki.load_certificate(files.cert)
        client.verify_directly_issued_by(ca)
        assert verifier.verify(client, []).chain == [client, ca]
        assert list(_extension(client, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == institution.name
        assert client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == institution.organization
        uris = _extension(client, x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
        assert uris == [f"urn:gateway:institution:{institution.name}"]
        authority = _extension(client, x509.AuthorityKeyIdentifier).value
        assert authority.key_identifier == _extension(ca, x509.SubjectKeyIdentifier).value.digest
        assert _days(client) == 730
        assert client.not_valid_before_utc <= datetime.now(UTC) <= client.not_valid_after_utc
        assert load_private_key(files.key).public_key() == client.public_key()


def test_each_client_certificate_and_key_is_also_a_pkcs12_bundle_with_the_ca(dev):
    """For Java and .NET teams: what their key stores load, read here by Python and by the openssl command."""
    ca = pki.load_certificate(dev.ca_cert)
    for files in dev.clients.values():
        key, certificate, chain = pkcs12.load_key_and_certificates(files.bundle.read_bytes(), files.bundle_password.read_text().strip().encode())
        assert certificate == pki.load_certificate(files.cert) and key.public_key() == certificate.public_key() and chain == [ca]
    imr = dev.clients["imr"]
    shown = subprocess.run(["openssl", "pkcs12", "-in", str(imr.bundle), "-passin", f"file:{imr.bundle_password}", "-info", "-noout"],
                           capture_output=True, text=True, check=True)
    assert shown.stderr.count("PBES2, PBKDF2, AES-256-CBC") == 2 and "MAC: sha256" in shown.stderr


def test_signing_keys_are_separate_keys_not_certificates(dev):
    tls_keys = [load_private_key(files.key).public_key() for files in dev.clients.values()]
    for files in dev.clients.values():
        signing = load_private_key(files.signing_key)
        assert isinstance(signing, ec.EllipticCurvePrivateKey) and isinstance(signing.curve, ec.SECP256R1)
        assert signing.public_key() not in tls_keys
        assert pem_label(files.signing_key) == "PRIVATE KEY"  # PKCS#8
    gateway = load_private_key(dev.gateway_signing_key)
    assert isinstance(gateway, ec.EllipticCurvePrivateKey) and isinstance(gateway.curve, ec.SECP256R1)
    assert isinstance(load_private_key(dev.checkpoint_key), ed25519.Ed25519PrivateKey)
    assert pem_label(dev.checkpoint_key) == "PRIVATE KEY"


def pem_label(path) -> str:
    """The PEM type label ("PRIVATE KEY" for PKCS#8, "EC PRIVATE KEY" for the traditional form)."""
    return path.read_text().split("-----")[1].removeprefix("BEGIN ")


def test_fingerprint_and_subject_helpers(dev):
    client = pki.load_certificate(dev.clients["imr"].cert)
    assert pki.certificate_fingerprint(client) == client.fingerprint(hashes.SHA256()).hex()
    assert pki.subject_string(client) == "O=Institution du Médiateur du Royaume,CN=imr"


# --- issuing -------------------------------------------------------------------------------------


def test_issue_replaces_the_certificate_and_keeps_the_signing_key(dev):
    files = dev.clients["imr"]
    before = _snapshot(dev.directory)
    assert pki.issue_client_certificate(dev.directory, "imr", organization="IMR") == files
    after = _snapshot(dev.directory)
    assert {name for name in before if after[name] != before[name]} == {"imr.pem", "imr.key", "imr.p12", "imr.p12.password"}
    assert pki.subject_string(pki.load_certificate(files.cert)) == "O=IMR,CN=imr"


def test_a_new_institution_gets_a_certificate_and_a_signing_key(dev):
    files = pki.issue_client_certificate(dev.directory, "ac-casa")
    assert (files.cert.name, files.key.name, files.signing_key.name) == ("ac-casa.pem", "ac-casa.key", "ac-casa-signing.key")
    pki.load_certificate(files.cert).verify_directly_issued_by(pki.load_certificate(dev.ca_cert))
    assert _mode(files.key) == _mode(files.signing_key) == 0o600


def test_validity_can_be_set_and_one_bound_carries_the_other(dev):
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(days=30), now - timedelta(days=1)
    explicit = pki.load_certificate(pki.issue_client_certificate(dev.directory, "a", not_before=start, not_after=end).cert)
    assert (explicit.not_valid_before_utc, explicit.not_valid_after_utc) == (start, end)
    expired = pki.load_certificate(pki.issue_client_certificate(dev.directory, "b", not_after=end).cert)
    assert expired.not_valid_before_utc < expired.not_valid_after_utc == end
    future = pki.load_certificate(pki.issue_client_certificate(dev.directory, "c", not_before=now + timedelta(days=1)).cert)
    assert future.not_valid_before_utc == now + timedelta(days=1) < future.not_valid_after_utc


@pytest.mark.parametrize("name", ["", "A", "Imr", "../x", "x/y", "/tmp/x", "-x", "imr.pem", "imr\n", "é", "a" * 64])
def test_institution_names_cannot_be_path_tricks(dev, name):
    before = _snapshot(dev.directory)
    with pytest.raises(ValueError, match="invalid institution name"):
        pki.issue_client_certificate(dev.directory, name)
    assert _snapshot(dev.directory) == before


@pytest.mark.parametrize("name", ["a", "a" * 63, "ac-casa-2"])
def test_ordinary_names_are_accepted(dev, name):
    assert pki.issue_client_certificate(dev.directory, name).cert == dev.directory / f"{name}.pem"


def test_a_name_is_checked_before_the_directory_is_read(tmp_path):
    with pytest.raises(ValueError):
        pki.issue_client_certificate(tmp_path / "nowhere", "../ca")


# --- real TLS handshakes -------------------------------------------------------------------------


def _accept(context: ssl.SSLContext, sock: socket.socket) -> x509.Certificate:
    with context.wrap_socket(sock, server_side=True) as tls:
        der = tls.getpeercert(binary_form=True)
        tls.sendall(b"k")
    return x509.load_der_x509_certificate(der)


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> x509.Certificate:
    """A TLS handshake over a socket pair; the client certificate the server accepted, or the
    server's refusal raised. The server's verdict is the one that counts: under TLS 1.3 the client
    thinks it is done before the server has even looked at its certificate."""
    server_socket, client_socket = socket.socketpair()
    server_socket.settimeout(5)
    client_socket.settimeout(5)
    with server_socket, client_socket, ThreadPoolExecutor(1) as pool:
        accepted = pool.submit(_accept, server, server_socket)
        try:
            with client.wrap_socket(client_socket, server_hostname="localhost") as tls:
                reply = tls.recv(1)
        except (ssl.SSLError, OSError):
            reply = b""  # the server refused; its own error says why
        peer = accepted.result(timeout=10)
        assert reply == b"k"
        return peer


@pytest.fixture(params=[ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
def gateway_tls(request, dev) -> ssl.SSLContext:
    """What the gateway serves: its server certificate, client certificates required from the dev CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = request.param
    context.load_cert_chain(dev.server_cert, dev.server_key)
    context.load_verify_locations(cafile=dev.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _client(dev: pki.DevPki, files: pki.ClientFiles | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=dev.ca_cert)  # checks the server's chain and name
    if files is not None:
        context.load_cert_chain(files.cert, files.key)
    return context


def test_a_dev_client_certificate_completes_the_handshake(dev, gateway_tls):
    peer = _handshake(gateway_tls, _client(dev, dev.clients["imr"]))
    assert pki.certificate_fingerprint(peer) == pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))


def test_no_client_certificate_fails_the_handshake(dev, gateway_tls):
    with pytest.raises(ssl.SSLError):
        _handshake(gateway_tls, _client(dev, None))


def test_a_certificate_from_an_unknown_ca_fails_the_handshake(dev, gateway_tls, tmp_path):
    rogue = pki.CertificateAuthority.generate("Gateway development CA")  # same name, other key
    files = rogue.issue_client(tmp_path, "imr", organization="Institution du Médiateur du Royaume")
    with pytest.raises(ssl.SSLError, match="unknown ca|certificate verify failed"):
        _handshake(gateway_tls, _client(dev, files))


@pytest.mark.parametrize("window", ["expired", "not yet valid"])
def test_a_certificate_outside_its_validity_fails_the_handshake(dev, gateway_tls, window):
    now = datetime.now(UTC)
    bounds = {"not_after": now - timedelta(days=1)} if window == "expired" else {"not_before": now + timedelta(days=1)}
    files = pki.issue_client_certificate(dev.directory, "imr", **bounds)
    with pytest.raises(ssl.SSLError, match="expired|not yet valid"):
        _handshake(gateway_tls, _client(dev, files))


# --- the commands that drive it ------------------------------------------------------------------


def test_gateway_pki_issue_reissues_and_prints_the_registry_entry(dev, capsys, monkeypatch):
    old = pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))
    monkeypatch.setenv("GATEWAY_PKI_DIR", str(dev.directory))
    assert main(["pki", "issue", "imr"]) == 0
    new = pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))
    assert new != old and f'"sha256": "{new}"' in capsys.readouterr().out


def test_gateway_pki_issue_register_updates_the_registry_for_a_rollover(dev, tmp_path, capsys, monkeypatch):
    registry_file = tmp_path / "registry.json"
    Registry(institutions=[registry_entry(name, *profile, dev.clients[name]) for name, profile in DEV_PROFILES.items()]).write(registry_file)
    old = pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))
    monkeypatch.setenv("GATEWAY_PKI_DIR", str(dev.directory))
    monkeypatch.setenv("GATEWAY_REGISTRY_FILE", str(registry_file))
    assert main(["pki", "issue", "imr", "--register"]) == 0
    new = pki.certificate_fingerprint(pki.load_certificate(dev.clients["imr"].cert))
    [imr] = [i for i in Registry.load(registry_file).institutions if i.id == "imr"]
    assert [ref.sha256 for ref in imr.certificates] == [old, new] and len(imr.signing_keys) == 1  # same signing key
    assert main(["pki", "issue", "stranger", "--register"]) == 1  # not in the registry: says so
    assert "does not list stranger" in capsys.readouterr().err


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
