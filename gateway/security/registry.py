"""The institution registry file: who is who, and which certificates each unit may present.

An institution's own certificates and signing keys are its head office's; its `units` are its
regional units, each with its own certificates and keys and the regions it serves. The file is
the operator's source of truth; applying it (at start-up, `gateway registry apply`, SIGHUP)
records it as the registry in force and mirrors it into the `institutions` and `units` tables (see
gateway.services.registry) so that rows can reference them; every process reads the version in
force into a `Directory` that maps certificates to units in memory (gateway.security.trust).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from imr_alomrane_gateway_client.contract.common import InstitutionId, visible_name
from gateway.domain.party import Party, Unit
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import Role


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


class RegisteredUnit(_Strict):
    """A regional unit: a regional company of Al Omrane, a regional delegation of IMR."""

    id: InstitutionId
    name_fr: visible_name(200)
    name_ar: visible_name(200)
    regions: list[Region] = Field(min_length=1, description="The regions whose cases are routed to this unit.")
    certificates: list[CertificateRef] = Field(min_length=1)
    signing_keys: list[RegisteredKey] = Field(default_factory=list)
    active: bool = Field(default=True, description="False: its certificates and keys are refused from then on; its history stays.")


class RegisteredInstitution(_Strict):
    id: InstitutionId = Field(description="Also the id of its head office, the unit that holds its own certificates and keys.")
    name_fr: visible_name(200)
    name_ar: visible_name(200)
    role: Role
    certificates: list[CertificateRef] = Field(min_length=1)
    signing_keys: list[RegisteredKey] = Field(default_factory=list)
    witness_keys: list[str] = Field(
        default_factory=list, description="C2SP cosignature verifier keys (type 0x04) this institution witnesses the ledger with."
    )
    units: list[RegisteredUnit] = Field(default_factory=list, description="Its regional units (the head office is the institution itself).")
    active: bool = Field(default=True, description="False: it and all its units are refused from then on; their history stays.")

    @model_validator(mode="after")
    def _one_unit_per_region(self) -> Self:
        if self.units and self.role is Role.AUDITOR:
            raise ValueError("an auditor has no regional units")
        served = [region for unit in self.units for region in unit.regions]
        if doubled := sorted({region.value for region in served if served.count(region) > 1}):
            raise ValueError(f"a region is served by one unit of an institution: {', '.join(doubled)} by several")
        return self

    def all_units(self) -> list[RegisteredUnit]:
        """Its units, the head office first (the only unit that serves no region of its own); a
        unit of an inactive institution is inactive too."""
        head = RegisteredUnit.model_construct(
            id=self.id, name_fr=self.name_fr, name_ar=self.name_ar, regions=[], certificates=self.certificates,
            signing_keys=self.signing_keys, active=self.active,
        )
        units = self.units if self.active else [unit.model_copy(update={"active": False}) for unit in self.units]
        return [head, *units]


class Registry(_Strict):
    institutions: list[RegisteredInstitution]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        units = [unit for institution in self.institutions for unit in institution.all_units()]
        ids = [unit.id for unit in units]
        refs = [ref for unit in units for ref in unit.certificates]
        if len(set(ids)) != len(ids):
            raise ValueError("institution and unit ids must be unique across the registry")
        if len(set(refs)) != len(refs):
            raise ValueError("a certificate may belong to one unit only")
        kids = [key.kid for unit in units for key in unit.signing_keys]
        if len(set(kids)) != len(kids):
            raise ValueError("key ids (kid) must be unique across the registry")
        return self

    @classmethod
    def load(cls, path: Path) -> Registry:
        return cls.model_validate_json(path.read_bytes())

    def canonical(self) -> bytes:
        """What its digest covers: every member, defaults included, as sorted compact ASCII JSON
        (so that leaving out `"active": true` or reordering the file changes nothing)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def digest(self) -> str:
        """Hex SHA-256 of the canonical JSON: what the `registry_changed` ledger entry names."""
        return hashlib.sha256(self.canonical()).hexdigest()

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

    by_id: dict[str, Party]  # each active institution, as its head office
    units: dict[str, Party]  # each active unit (head offices included), as the party acting through it
    # (an inactive institution or unit is in none of these: its certificates are unregistered from then on)
    by_fingerprint: dict[str, Party]
    by_subject: dict[str, Party]

    @classmethod
    def of(cls, registry: Registry) -> Directory:
        by_id: dict[str, Party] = {}
        units: dict[str, Party] = {}
        by_fingerprint: dict[str, Party] = {}
        by_subject: dict[str, Party] = {}
        for institution in (institution for institution in registry.institutions if institution.active):
            for registered in (unit for unit in institution.all_units() if unit.active):
                unit = Unit(registered.id, institution.id, registered.name_fr, registered.name_ar, frozenset(registered.regions),
                            head_office=registered.id == institution.id)
                party = units[unit.id] = Party(institution.id, institution.role, institution.name_fr, institution.name_ar, unit)
                for ref in registered.certificates:
                    if ref.sha256 is not None:
                        by_fingerprint[ref.sha256] = party
                    else:
                        by_subject[ref.subject] = party
            by_id[institution.id] = units[institution.id]
        return cls(by_id, units, by_fingerprint, by_subject)

    def institution_for(self, fingerprint: str, subject: str) -> Party | None:
        """The unit that registered this exact certificate, else the one that registered its
        subject. Matching by subject is safe because only certificates issued by the client CA get
        here (checked by the TLS handshake, or by identity.check_forwarded_certificate for a proxy)."""
        return self.by_fingerprint.get(fingerprint) or self.by_subject.get(subject)

    def units_of(self, institution_id: str) -> list[Unit]:
        """The institution's units, head office first."""
        return sorted((party.unit for party in self.units.values() if party.id == institution_id),
                      key=lambda unit: (not unit.head_office, unit.id))

    def unit_serving(self, institution_id: str, region: Region | None) -> Unit:
        """Where a case about a project in `region` goes: the unit serving that region, else the head office."""
        for unit in self.units_of(institution_id):
            if region in unit.regions:
                return unit
        return self.by_id[institution_id].unit
