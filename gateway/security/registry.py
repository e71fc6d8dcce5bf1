"""The institution registry file: who is who, and which certificates each institution may present.

The file is the operator's source of truth; at start-up it is mirrored into the `institutions`
table (see gateway.services.registry) so that rows can reference institutions, and read into a
`Directory` that maps certificates to institutions in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from gateway.contract.common import InstitutionId, visible_name
from gateway.domain.party import Party
from gateway.domain.vocabulary import Role


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CertificateRef(_Strict):
    """Accept a certificate by its SHA-256 fingerprint, or any certificate with this subject under the client CA."""

    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    subject: str | None = Field(default=None, min_length=3, max_length=500)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.sha256 is None) == (self.subject is None):
            raise ValueError("give exactly one of sha256 or subject")
        return self


class PublicJwk(_Strict):
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$")
    y: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$")


class RegisteredKey(_Strict):
    """A request-signing key. Several may be valid at once (rotation); a revoked key stays listed."""

    kid: str = Field(min_length=1, max_length=100)
    jwk: PublicJwk
    not_before: AwareDatetime | None = None
    not_after: AwareDatetime | None = None
    revoked: bool = False


class RegisteredInstitution(_Strict):
    id: InstitutionId
    name_fr: visible_name(200)
    name_ar: visible_name(200)
    role: Role
    certificates: list[CertificateRef] = Field(min_length=1)
    signing_keys: list[RegisteredKey] = Field(default_factory=list)
    witness_keys: list[str] = Field(
        default_factory=list, description="C2SP cosignature verifier keys (type 0x04) this institution witnesses the ledger with."
    )


class Registry(_Strict):
    institutions: list[RegisteredInstitution]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [institution.id for institution in self.institutions]
        refs = [ref for institution in self.institutions for ref in institution.certificates]
        if len(set(ids)) != len(ids):
            raise ValueError("institution ids must be unique")
        if len(set(refs)) != len(refs):
            raise ValueError("a certificate may belong to one institution only")
        kids = [key.kid for institution in self.institutions for key in institution.signing_keys]
        if len(set(kids)) != len(kids):
            raise ValueError("key ids (kid) must be unique across the registry")
        return self

    @classmethod
    def load(cls, path: Path) -> Registry:
        return cls.model_validate_json(path.read_bytes())

    def write(self, path: Path) -> None:
        """Atomically: the gateway never reads half a registry."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.tmp")
        partial.write_text(json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False, indent=2) + "\n")
        partial.replace(path)


@dataclass(frozen=True)
class Directory:
    """Who holds a certificate, answered from memory: built from the registry when it is loaded, so
    that no request reads the database to learn who is calling."""

    by_id: dict[str, Party]  # the institutions the registry lists: the active ones
    by_fingerprint: dict[str, Party]
    by_subject: dict[str, Party]

    @classmethod
    def of(cls, registry: Registry) -> Directory:
        by_id: dict[str, Party] = {}
        by_fingerprint: dict[str, Party] = {}
        by_subject: dict[str, Party] = {}
        for institution in registry.institutions:
            party = by_id[institution.id] = Party(institution.id, institution.role, institution.name_fr, institution.name_ar)
            for ref in institution.certificates:
                if ref.sha256 is not None:
                    by_fingerprint[ref.sha256] = party
                else:
                    by_subject[ref.subject] = party
        return cls(by_id, by_fingerprint, by_subject)

    def institution_for(self, fingerprint: str, subject: str) -> Party | None:
        """The institution that registered this exact certificate, else the one that registered its
        subject. Matching by subject is safe because only certificates issued by the client CA get
        here (checked by the TLS handshake, or by identity.check_forwarded_certificate for a proxy)."""
        return self.by_fingerprint.get(fingerprint) or self.by_subject.get(subject)
