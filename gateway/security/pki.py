"""A development PKI: a CA, the gateway's server certificate, and each institution's client
certificate and signing keys, generated at run time under `var/pki/` (never committed).

Production institutions bring certificates from their own CA; only their registry entry matters
to the gateway. This module exists so that one command gives a realistic set-up, mutual TLS
included, and so that tests can make any certificate they need (expired, foreign CA, …).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=825)
CLIENT_LIFETIME = timedelta(days=730)
_BACKDATE = timedelta(minutes=5)  # tolerate small clock skew between machines


@dataclass(frozen=True)
class DevInstitution:
    name: str
    organization: str


DEV_INSTITUTIONS: tuple[DevInstitution, ...] = (
    DevInstitution("imr", "Institution du Médiateur du Royaume"),
    DevInstitution("al-omrane", "Groupe Al Omrane"),
    DevInstitution("auditor", "Auditeurs"),
)


@dataclass(frozen=True)
class ClientFiles:
    cert: Path
    key: Path
    signing_key: Path


@dataclass(frozen=True)
class DevPki:
    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    clients: Mapping[str, ClientFiles]
    gateway_signing_key: Path
    checkpoint_key: Path
    master_key: Path


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the DER encoding, as the registry lists it."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def subject_string(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)
    return key


def write_secret(path: Path, data: bytes) -> None:
    """Owner-only from the first byte: the file is created 0600, never chmod-ed afterwards."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def write_private_key(path: Path, key: PrivateKey) -> None:
    write_secret(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def write_certificate(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def check_name(name: str) -> str:
    """Institution names become file names: allow nothing that could be a path trick."""
    if not _NAME.match(name):
        raise ValueError(f"invalid institution name {name!r}: use 1-63 lowercase letters, digits and '-'")
    return name


@dataclass(frozen=True)
class CertificateAuthority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, common_name: str = "Gateway development CA") -> CertificateAuthority:
        key = _new_key()
        now = datetime.now(UTC)
        subject = _name(common_name, "IMR – Al Omrane exchange (development)")
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        return cls(builder.sign(key, hashes.SHA256()), key)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        key = load_private_key(directory / "ca.key")
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cls(load_certificate(directory / "ca.pem"), key)

    def write(self, directory: Path) -> None:
        write_certificate(directory / "ca.pem", self.certificate)
        write_private_key(directory / "ca.key", self.key)

    def _issue(
        self,
        subject: x509.Name,
        key: ec.EllipticCurvePrivateKey,
        usage: x509.ObjectIdentifier,
        alternative_names: list[x509.GeneralName],
        not_before: datetime,
        not_after: datetime,
    ) -> x509.Certificate:
        """The one builder behind server and client certificates."""
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        return builder.sign(self.key, hashes.SHA256())

    def issue_server(self, directory: Path) -> None:
        key = _new_key()
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]
        certificate = self._issue(
            _name("localhost", "IMR – Al Omrane exchange gateway"), key, ExtendedKeyUsageOID.SERVER_AUTH, names,
            now - _BACKDATE, now + SERVER_LIFETIME,
        )
        write_certificate(directory / "server.pem", certificate)
        write_private_key(directory / "server.key", key)

    def issue_client(
        self,
        directory: Path,
        name: str,
        *,
        organization: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> ClientFiles:
        """Write `<name>.pem`/`<name>.key` (re-issuing if present) and `<name>-signing.key` if missing."""
        check_name(name)
        key = _new_key()
        now = datetime.now(UTC)
        certificate = self._issue(
            _name(name, organization),
            key,
            ExtendedKeyUsageOID.CLIENT_AUTH,
            [x509.UniformResourceIdentifier(f"urn:gateway:institution:{name}")],
            not_before or now - _BACKDATE,
            not_after or now + CLIENT_LIFETIME,
        )
        files = ClientFiles(directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}-signing.key")
        write_certificate(files.cert, certificate)
        write_private_key(files.key, key)
        if not files.signing_key.exists():
            write_private_key(files.signing_key, _new_key())
        return files


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def init_dev_pki(directory: Path, *, institutions: tuple[DevInstitution, ...] = DEV_INSTITUTIONS) -> DevPki:
    """Create whatever is missing; keep every file that exists (safe to run twice)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    if (directory / "ca.pem").exists() and (directory / "ca.key").exists():
        ca = CertificateAuthority.load(directory)
    else:
        ca = CertificateAuthority.generate()
        ca.write(directory)
    if not ((directory / "server.pem").exists() and (directory / "server.key").exists()):
        ca.issue_server(directory)
    clients: dict[str, ClientFiles] = {}
    for institution in institutions:
        files = ClientFiles(*(directory / f"{institution.name}{suffix}" for suffix in (".pem", ".key", "-signing.key")))
        if not (files.cert.exists() and files.key.exists() and files.signing_key.exists()):
            files = ca.issue_client(directory, institution.name, organization=institution.organization)
        clients[institution.name] = files
    gateway_signing_key = directory / "gateway-signing.key"
    if not gateway_signing_key.exists():
        write_private_key(gateway_signing_key, _new_key())
    checkpoint_key = directory / "gateway-checkpoint.key"
    if not checkpoint_key.exists():
        write_private_key(checkpoint_key, ed25519.Ed25519PrivateKey.generate())
    master_key = directory / "master.key"
    if not master_key.exists():  # wraps the per-case data keys (gateway.security.encryption)
        write_secret(master_key, base64.b64encode(os.urandom(32)) + b"\n")
    return DevPki(
        directory=directory,
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        clients=MappingProxyType(clients),
        gateway_signing_key=gateway_signing_key,
        checkpoint_key=checkpoint_key,
        master_key=master_key,
    )


def issue_client_certificate(
    directory: Path,
    name: str,
    *,
    organization: str | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca: CertificateAuthority | None = None,
) -> ClientFiles:
    """Issue (or re-issue) a client certificate under the development CA in `directory`."""
    check_name(name)
    return (ca or CertificateAuthority.load(directory)).issue_client(
        directory, name, organization=organization, not_before=not_before, not_after=not_after
    )
