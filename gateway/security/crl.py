"""Certificate revocation: the client CA's CRLs (GATEWAY_CLIENT_CRL).

They are applied with the registry (gateway.services.registry), so every process holds the same
ones, and checked twice: at the TLS handshake (the edge's context loads them with
`VERIFY_CRL_CHECK_LEAF`) and by the app for every client certificate, forwarded by a proxy or
not, so a connection opened before a revocation is refused from its next request on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

_PEM_CRL = re.compile(r"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----\s*", re.DOTALL)


@dataclass(frozen=True)
class Revocations:
    pem: str  # every CRL in force, concatenated (empty: no revocation checking)
    serials: frozenset[int]  # the client certificates they revoke (all are the client CA's)

    @classmethod
    def parse(cls, pem: str, client_ca: x509.Certificate, now: datetime | None = None) -> Revocations:
        """The CRLs in `pem`, each checked: signed by the client CA and not past its next update
        (a stale CRL would refuse every client at the handshake). ValueError says which is wrong."""
        if pem.strip() and not _PEM_CRL.search(pem):
            raise ValueError("no PEM CRL (-----BEGIN X509 CRL-----) in it")
        now = now or datetime.now(UTC)
        for number, crl in enumerate(_crls(pem), 1):
            if crl.issuer != client_ca.subject or not crl.is_signature_valid(client_ca.public_key()):
                raise ValueError(f"CRL {number} is not signed by the client CA")
            if crl.next_update_utc is not None and crl.next_update_utc <= now:
                raise ValueError(f"CRL {number} was due to be replaced on {crl.next_update_utc:%Y-%m-%d %H:%M} UTC")
        return cls.stored(pem)

    @classmethod
    def stored(cls, pem: str) -> Revocations:
        """CRLs checked when they were applied (a registry version's), read again."""
        blocks = _PEM_CRL.findall(pem)
        serials = frozenset(revoked.serial_number for crl in _crls(pem) for revoked in crl)
        return cls("".join(block.strip() + "\n" for block in blocks), serials)

    @classmethod
    def read(cls, paths: list[Path], client_ca: x509.Certificate) -> Revocations:
        return cls.parse("".join(path.read_text(encoding="ascii") for path in paths), client_ca)

    def digest(self) -> str | None:
        """Hex SHA-256 of the CRLs' PEM, as the `registry_changed` entry names them (None: none)."""
        return hashlib.sha256(self.pem.encode()).hexdigest() if self.pem else None


def _crls(pem: str) -> list[x509.CertificateRevocationList]:
    return [x509.load_pem_x509_crl(block.encode()) for block in _PEM_CRL.findall(pem)]
