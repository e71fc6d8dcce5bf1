"""A development PKI: a CA, the gateway's server certificate, and each institution's client
certificate and signing keys, generated at run time under `var/pki/` (never committed).

This is for development and tests only. Production institutions bring certificates from their own
CA; only their registry entry (the certificate's fingerprint, their signing keys) matters to the
gateway. This module exists so that one command gives a realistic set-up, mutual TLS included,
and so that tests can make any certificate they need (expired, not yet valid, foreign CA, ...).
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.security.encryption import MasterKey
from imr_alomrane_gateway_client.signers import PrivateKey, load_private_key

CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=825)  # the most browsers and macOS ever accepted for a TLS server
CLIENT_LIFETIME = timedelta(days=730)
CRL_LIFETIME = timedelta(days=30)  # the development CA's CRL: `gateway pki revoke` again (any name) renews it
_BACKDATE = timedelta(minutes=5)  # tolerate small clock skew between machines

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_ORGANIZATION = "IMR – Al Omrane exchange (development)"
SERVER_NAMES: tuple[x509.GeneralName, ...] = (
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    x509.IPAddress(ipaddress.ip_address("::1")),
)


def check_name(name: str) -> str:
    """Institution names become file names: allow nothing that could be a path trick."""
    if not _NAME.fullmatch(name):  # fullmatch: `$` would let a trailing newline through
        raise ValueError(f"invalid institution name {name!r}: use 1-63 lowercase letters, digits and '-', not starting with '-'")
    return name


@dataclass(frozen=True)
class DevInstitution:
    name: str
    organization: str


DEV_INSTITUTIONS: tuple[DevInstitution, ...] = (
    DevInstitution("imr", "Institution du Médiateur du Royaume"),
    DevInstitution("al-omrane", "Groupe Al Omrane"),
    DevInstitution("auditor", "Auditeurs"),
    # Regional units (gateway.security.dev.DEV_UNITS): each connects with its own certificate.
    DevInstitution("imr-casablanca-settat", "Institution du Médiateur du Royaume"),
    DevInstitution("al-omrane-casablanca-settat", "Groupe Al Omrane"),
    DevInstitution("al-omrane-rabat-sale-kenitra", "Groupe Al Omrane"),
    DevInstitution("al-omrane-marrakech-safi", "Groupe Al Omrane"),
)


@dataclass(frozen=True)
class ClientFiles:
    """An institution's files: its TLS client certificate and key, and its request-signing key; the
    certificate and key again as a PKCS#12 bundle (with the CA) for Java and .NET, and its password."""

    cert: Path
    key: Path
    signing_key: Path
    bundle: Path
    bundle_password: Path

    @classmethod
    def at(cls, directory: Path, name: str) -> ClientFiles:
        check_name(name)
        return cls(directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}-signing.key",
                   directory / f"{name}.p12", directory / f"{name}.p12.password")


@dataclass(frozen=True)
class GatewayKeyFiles:
    """The gateway's own secrets: its receipt key, its checkpoint key and the master key."""

    signing: Path
    checkpoint: Path
    master: Path

    @classmethod
    def at(cls, directory: Path) -> GatewayKeyFiles:
        return cls(directory / "gateway-signing.key", directory / "gateway-checkpoint.key", directory / "master.key")

    def fresh(self) -> list[tuple[Path, Callable[[], bytes]]]:
        """Each file with what makes its content anew: an EC P-256 key and an Ed25519 key (PKCS#8
        PEM), and 32 random bytes in base64, the master key wrapping the per-case data keys."""
        return [
            (self.signing, lambda: private_pem(_new_key())),
            (self.checkpoint, lambda: private_pem(ed25519.Ed25519PrivateKey.generate())),
            (self.master, lambda: (MasterKey.generate_text() + "\n").encode()),
        ]


def create_secrets(directory: Path, contents: Sequence[tuple[Path, Callable[[], bytes]]]) -> list[Path]:
    """Each `(path, content)` written in `directory` (made 0700 if it is new), 0600, all or none: if
    any exists, FileExistsError naming them and nothing is written (a new receipt key beside an old
    master key, say, is a set-up nobody asked for)."""
    existing = [str(path) for path, _ in contents if path.exists() or path.is_symlink()]
    if existing:
        raise FileExistsError(errno.EEXIST, "exists", ", ".join(existing))
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)  # whatever the umask took away
    created: list[Path] = []
    try:
        for path, content in contents:
            create_secret(path, content())
            created.append(path)
    except BaseException:
        remove(created)
        raise
    return created


def remove(created: Iterable[Path]) -> None:
    """Take back files just created, which nothing used yet."""
    for path in created:
        path.unlink(missing_ok=True)


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

    @classmethod
    def at(cls, directory: Path, names: Iterable[str]) -> DevPki:
        """Where every file lives; reads and creates nothing."""
        keys = GatewayKeyFiles.at(directory)
        return cls(
            directory=directory,
            ca_cert=directory / "ca.pem",
            ca_key=directory / "ca.key",
            server_cert=directory / "server.pem",
            server_key=directory / "server.key",
            clients=MappingProxyType({name: ClientFiles.at(directory, name) for name in names}),
            gateway_signing_key=keys.signing,
            checkpoint_key=keys.checkpoint,
            master_key=keys.master,
        )

    @property
    def gateway_keys(self) -> GatewayKeyFiles:
        return GatewayKeyFiles(self.gateway_signing_key, self.checkpoint_key, self.master_key)


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the DER encoding, as the registry lists it."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def subject_string(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string()


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _write_file(path: Path, data: bytes, mode: int, *, replace: bool = True) -> None:
    """Write a fresh file created with `mode` (no umask-dependent window, never chmod-ed wider than
    it began) and rename it over `path`: a crash leaves the old file or the new, never a truncated
    key that the next `init_dev_pki` would keep. Unless `replace`, it is linked at `path` instead,
    which fails (FileExistsError) if anything is there: never overwritten, never seen half-written."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # exactly `mode`, whatever the umask took away
            handle.write(data)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_secret(path: Path, data: bytes) -> None:
    """Owner-only (0600) from the first byte."""
    _write_file(path, data, 0o600)


def create_secret(path: Path, data: bytes) -> None:
    """Like write_secret, but FileExistsError if `path` exists: a key is never overwritten."""
    try:
        _write_file(path, data, 0o600, replace=False)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "exists", str(path)) from None


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def write_private_key(path: Path, key: PrivateKey) -> None:
    write_secret(path, private_pem(key))


def write_certificate(path: Path, certificate: x509.Certificate) -> None:
    _write_file(path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _validity(lifetime: timedelta, not_before: datetime | None = None, not_after: datetime | None = None) -> tuple[datetime, datetime]:
    """`lifetime` long from a few minutes ago, unless told otherwise (timezone-aware datetimes).

    The backdating counts in the lifetime, so a server certificate never exceeds 825 days. One bound
    alone carries the other: a `not_after` in the past gives an expired certificate, a `not_before`
    in the future one that is not valid yet.
    """
    if not_before is None:
        not_before = datetime.now(UTC) - _BACKDATE
        if not_after is not None and not_after <= not_before:
            not_before = not_after - lifetime
    return not_before, not_after or not_before + lifetime


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates (and CRLs); a leaf only signs its TLS handshakes (ECDHE-ECDSA)."""
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _sign(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    validity: tuple[datetime, datetime],
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """The one certificate builder (CA, server and client): what every certificate has, plus the
    profile's `(extension, critical)` pairs. Key identifiers let verifiers find the issuer."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class CertifiedKey:
    """A certificate and its private key, in memory until written."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Key first: a certificate on disk always has its key beside it."""
        write_private_key(key_path, self.key)
        write_certificate(cert_path, self.certificate)


@dataclass(frozen=True)
class CertificateAuthority(CertifiedKey):
    """The development CA: signs the gateway's server certificate and the institutions' client
    certificates (the gateway trusts it as its client CA)."""

    @classmethod
    def generate(cls, common_name: str = "Gateway development CA") -> CertificateAuthority:
        """A new CA in memory; tests use a throwaway one as the CA the gateway does not know."""
        key = _new_key()
        subject = _name(common_name, _ORGANIZATION)
        extensions = [(x509.BasicConstraints(ca=True, path_length=0), True), (_key_usage(ca=True), True)]
        return cls(_sign(subject, key.public_key(), subject, key, _validity(CA_LIFETIME), extensions), key)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        """The CA written by `init_dev_pki` in `directory` (`ca.pem`, `ca.key`)."""
        certificate, key = load_certificate(directory / "ca.pem"), load_private_key(directory / "ca.key")
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
            raise ValueError(f"{directory / 'ca.key'} is not the private key of {directory / 'ca.pem'}")
        return cls(certificate, key)

    def _issue(
        self, subject: x509.Name, usage: x509.ObjectIdentifier, names: Sequence[x509.GeneralName], validity: tuple[datetime, datetime]
    ) -> CertifiedKey:
        key = _new_key()
        extensions = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_key_usage(ca=False), True),
            (x509.ExtendedKeyUsage([usage]), False),
            (x509.SubjectAlternativeName(names), False),
        ]
        return CertifiedKey(_sign(subject, key.public_key(), self.certificate.subject, self.key, validity, extensions), key)

    def server_certificate(self) -> CertifiedKey:
        """The gateway's TLS server certificate, for localhost over IPv4 and IPv6."""
        return self._issue(_name("localhost", _ORGANIZATION), ExtendedKeyUsageOID.SERVER_AUTH, SERVER_NAMES, _validity(SERVER_LIFETIME))

    def client_certificate(
        self, name: str, *, organization: str | None = None, not_before: datetime | None = None, not_after: datetime | None = None
    ) -> CertifiedKey:
        """An institution's TLS client certificate: CN=<name>, its URN as subject alternative name."""
        return self._issue(
            _name(check_name(name), organization),
            ExtendedKeyUsageOID.CLIENT_AUTH,
            [x509.UniformResourceIdentifier(f"urn:gateway:institution:{name}")],
            _validity(CLIENT_LIFETIME, not_before, not_after),
        )

    def issue_client(
        self,
        directory: Path,
        name: str,
        *,
        organization: str | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> ClientFiles:
        """Write `<name>.pem`/`<name>.key` and `<name>.p12` (replacing any) and `<name>-signing.key` if missing."""
        files = ClientFiles.at(directory, name)
        self.client_certificate(name, organization=organization, not_before=not_before, not_after=not_after).write(files.cert, files.key)
        write_client_bundle(files, self.certificate)
        _create_key_if_missing(files.signing_key, _new_key)
        return files


def write_client_bundle(files: ClientFiles, ca_certificate: x509.Certificate) -> None:
    """The client certificate and its key, with the CA that signed it, as PKCS#12 (what Java's
    KeyStore and .NET's X509Certificate2 load): PBES2 with AES-256 and an HMAC-SHA256 MAC, as
    OpenSSL 3 makes them, under a random password written first, beside it (both 0600)."""
    certificate, key = load_certificate(files.cert), load_private_key(files.key)
    password = secrets.token_urlsafe(18)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)  # as OpenSSL makes them: the password is random, 144 bits
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    write_secret(files.bundle_password, (password + "\n").encode())
    write_secret(files.bundle, pkcs12.serialize_key_and_certificates(files.cert.stem.encode(), key, certificate, [ca_certificate], encryption))


def revoke_client_certificate(directory: Path, name: str, crl_path: Path, lifetime: timedelta = CRL_LIFETIME) -> int:
    """Add `name`'s client certificate to the development CA's CRL at `crl_path` (made if missing,
    keeping the certificates it revoked already) and renew the CRL for `lifetime`; its serial number."""
    ca = CertificateAuthority.load(directory)
    serial = load_certificate(ClientFiles.at(directory, name).cert).serial_number
    earlier: dict[int, datetime] = {}
    if crl_path.exists():
        crl = x509.load_pem_x509_crl(crl_path.read_bytes())
        if not crl.is_signature_valid(ca.certificate.public_key()):
            raise ValueError(f"{crl_path} is not a CRL of the development CA in {directory}")
        earlier = {revoked.serial_number: revoked.revocation_date_utc for revoked in crl}
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - _BACKDATE)
        .next_update(now + lifetime)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    for revoked_serial, revoked_at in {**earlier, serial: earlier.get(serial, now)}.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(revoked_serial).revocation_date(revoked_at).build()
        )
    _write_file(crl_path, builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM), 0o644)
    return serial


def _create_key_if_missing(path: Path, generate: Callable[[], PrivateKey]) -> None:
    if not path.exists():
        write_private_key(path, generate())


def _missing(*paths: Path) -> bool:
    return not all(path.exists() for path in paths)


def _ca_for(pki: DevPki) -> tuple[CertificateAuthority, bool]:
    """The CA in the directory, or a new one (and True) when there is none; half a CA is an error,
    because replacing it would silently orphan every certificate it signed."""
    if not _missing(pki.ca_cert, pki.ca_key):
        return CertificateAuthority.load(pki.directory), False
    if pki.ca_cert.exists() or pki.ca_key.exists():
        raise FileNotFoundError(f"incomplete development CA in {pki.directory}: restore ca.pem and ca.key, or delete the directory")
    ca = CertificateAuthority.generate()
    ca.write(pki.ca_cert, pki.ca_key)
    return ca, True


def init_dev_pki(directory: Path, *, institutions: Iterable[DevInstitution] = DEV_INSTITUTIONS) -> DevPki:
    """Create whatever is missing and keep every file that exists, so it is safe to run twice.

    A certificate is (re)issued when it or its key is missing, and all of them when the CA itself
    is new: certificates from a deleted CA would no longer chain to anything.
    """
    institutions = tuple(institutions)
    pki = DevPki.at(directory, (institution.name for institution in institutions))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # an existing directory too: it holds the CA key
    ca, new_ca = _ca_for(pki)
    if new_ca or _missing(pki.server_cert, pki.server_key):
        ca.server_certificate().write(pki.server_cert, pki.server_key)
    for institution in institutions:
        files = pki.clients[institution.name]
        reissued = new_ca or _missing(files.cert, files.key)
        if reissued:
            ca.client_certificate(institution.name, organization=institution.organization).write(files.cert, files.key)
        if reissued or _missing(files.bundle, files.bundle_password):
            write_client_bundle(files, ca.certificate)
        _create_key_if_missing(files.signing_key, _new_key)
    for path, content in pki.gateway_keys.fresh():
        if not path.exists():
            write_secret(path, content())
    return pki


def issue_client_certificate(
    directory: Path,
    name: str,
    *,
    organization: str | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca: CertificateAuthority | None = None,
) -> ClientFiles:
    """Issue (or re-issue) a client certificate under the development CA in `directory`, or `ca`."""
    check_name(name)  # before reading anything from `directory`
    return (ca or CertificateAuthority.load(directory)).issue_client(
        directory, name, organization=organization, not_before=not_before, not_after=not_after
    )
