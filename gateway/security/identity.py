"""Which certificate is on the line: from the TLS connection, or from a trusted proxy's header.

The forwarded header is honoured only when the operator enabled proxy mode *and* the TCP peer
is one of the configured proxy addresses; anywhere else the header is ignored, so a client
reaching the gateway directly cannot claim someone else's certificate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.security.tls import TLS_EXTENSION


@dataclass(frozen=True)
class ClientCertificate:
    certificate: x509.Certificate
    fingerprint: str  # lowercase hex SHA-256 of the DER encoding
    subject: str  # RFC 4514

    @classmethod
    def from_der(cls, der: bytes) -> ClientCertificate:
        certificate = x509.load_der_x509_certificate(der)
        return cls(certificate, hashlib.sha256(der).hexdigest(), certificate.subject.rfc4514_string())


class CertificateRejected(Exception):
    """A client certificate that cannot be trusted (malformed, wrong issuer, outside its validity)."""


@lru_cache(maxsize=1024)
def _parse_pem(pem: str) -> ClientCertificate:
    try:
        return ClientCertificate.from_der(x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER))
    except ValueError as exc:
        raise CertificateRejected("the client certificate is not readable") from exc


def certificate_from_scope(scope: dict, client_ca: x509.Certificate, revoked: frozenset[int] = frozenset()) -> ClientCertificate | None:
    """The certificate the TLS layer verified for this connection, if any, checked again: the app
    does not rely on whoever filled the ASGI `tls` extension for the issuer, the validity or the
    revocation (a connection may have been opened before the certificate was revoked)."""
    chain = scope.get("extensions", {}).get(TLS_EXTENSION, {}).get("client_cert_chain") or []
    return check_certificate(_parse_pem(chain[0]), client_ca, revoked=revoked) if chain else None


def peer_is_trusted_proxy(peer_host: str | None, networks) -> bool:
    if not peer_host:
        return False
    try:
        address = ipaddress.ip_address(peer_host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def decode_forwarded_certificate(value: str) -> bytes:
    """DER bytes from RFC 9440 `Client-Cert` (`:base64:`) or nginx's URL-escaped PEM."""
    value = value.strip()
    try:
        if value.startswith(":") and value.endswith(":") and len(value) > 2:
            return base64.b64decode(value[1:-1], validate=True)
        pem = unquote(value)
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except (ValueError, binascii.Error) as exc:
        raise CertificateRejected("the forwarded client certificate is not readable") from exc


def check_forwarded_certificate(der: bytes, client_ca: x509.Certificate, now: datetime | None = None,
                                revoked: frozenset[int] = frozenset()) -> ClientCertificate:
    """The proxy said it verified this certificate; check it is ours, current and not revoked anyway."""
    try:
        client = ClientCertificate.from_der(der)
    except ValueError as exc:
        raise CertificateRejected("the forwarded client certificate is not readable") from exc
    return check_certificate(client, client_ca, now, revoked)


def check_certificate(client: ClientCertificate, client_ca: x509.Certificate, now: datetime | None = None,
                      revoked: frozenset[int] = frozenset()) -> ClientCertificate:
    """Issued by the client CA (the signature check is done once per certificate), within its
    validity, and not among the serial numbers the client CA's CRLs revoke."""
    if not _issued_by(client, client_ca):
        raise CertificateRejected("the client certificate is not issued by the client CA")
    if client.certificate.serial_number in revoked:
        raise CertificateRejected("the client certificate is revoked (the client CA's CRL lists it)")
    now = now or datetime.now(UTC)
    if not client.certificate.not_valid_before_utc <= now <= client.certificate.not_valid_after_utc:
        raise CertificateRejected("the client certificate is outside its validity period")
    return client


@lru_cache(maxsize=1024)
def _issued_by(client: ClientCertificate, client_ca: x509.Certificate) -> bool:
    try:
        client.certificate.verify_directly_issued_by(client_ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
