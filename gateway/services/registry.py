"""The registry in force: applying a registry (start-up, `gateway registry apply`, SIGHUP), the
versions every process follows, and the history of every key ever published.

Applying is one transaction, serialized by a database lock: the new version (the registry's
canonical JSON, the client CA's CRLs, the gateway's published keys), the institution tables made to
say what it says, and one `registry_changed` ledger entry naming the registry's digest and what
changed. An apply that changes nothing records nothing. Who holds a certificate is then answered
from memory (gateway.security.trust), from the version in force.

Lock order: the registry lock, the institution and unit rows, the ledger counter last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.vocabulary import LedgerKind
from gateway.ledger.store import Appended, Ledger, NewEntry
from gateway.security.crl import Revocations
from gateway.security.registry import CertificateRef, Registry
from imr_alomrane_gateway_client.signing import content_digest
from gateway.storage import locks, sequences
from gateway.storage.models import Institution, InstitutionCertificate, RegistryVersion, Unit
from gateway.storage.upsert import upsert

REGISTRY_LOCK = "gateway-registry"
KEY_HISTORY = "/v1/keys/history"  # the resource of a `registry_changed` entry: where the keys' history is read


def inbox_sequence(unit_id: str) -> str:
    return f"inbox:{unit_id}"


@dataclass(frozen=True)
class Proposal:
    """What an apply would put in force."""

    registry: Registry
    revocations: Revocations
    gateway_keys: list[dict[str, Any]]  # the gateway's published JWKs (receipt keys, checkpoint key), each with its `purpose`

    @classmethod
    def of_row(cls, row: RegistryVersion) -> Proposal:
        """A version applied earlier, read back (it was checked when it was applied)."""
        return cls(Registry.model_validate_json(row.document), Revocations.stored(row.crl), json.loads(row.gateway_keys))

    def same_as(self, row: RegistryVersion) -> bool:
        return (row.document.encode(), row.crl, json.loads(row.gateway_keys)) == (
            self.registry.canonical(), self.revocations.pem, self.gateway_keys,
        )


@dataclass(frozen=True)
class Applied:
    version: int
    changes: list[dict[str, str]]
    appended: Appended


def version_in_force(session: Session) -> int | None:
    """The latest version's number: what each process compares with the one it serves."""
    return session.execute(select(func.max(RegistryVersion.version))).scalar_one()


def load_version(session: Session, version: int) -> Proposal:
    return Proposal.of_row(session.execute(select(RegistryVersion).where(RegistryVersion.version == version)).scalar_one())


def apply(session: Session, ledger: Ledger, gateway_id: str, proposal: Proposal, now: datetime | None = None) -> Applied | None:
    """Put `proposal` in force, in the caller's transaction (the caller commits, then tells the
    ledger it committed); None if it is what is in force already."""
    locks.for_transaction(session, REGISTRY_LOCK)
    current = session.execute(select(RegistryVersion).order_by(RegistryVersion.version.desc()).limit(1)).scalar_one_or_none()
    if current is not None and proposal.same_as(current):
        return None
    now = now or datetime.now(UTC)
    before = _State.empty() if current is None else _State.of_row(current)
    changes = before.changes_to(_State.of(proposal.registry, proposal.revocations, proposal.gateway_keys, now))
    version = 1 if current is None else current.version + 1
    canonical = proposal.registry.canonical()
    session.add(RegistryVersion(
        version=version, digest=hashlib.sha256(canonical).hexdigest(), document=canonical.decode(), crl=proposal.revocations.pem,
        gateway_keys=json.dumps(proposal.gateway_keys, sort_keys=True), applied_at=now,
    ))
    sync_registry(session, proposal.registry)
    detail = {"version": version, "registry": proposal.registry.digest(), "crl": proposal.revocations.digest(), "changes": changes}
    appended = ledger.append(session, NewEntry(
        kind=LedgerKind.REGISTRY_CHANGED, detail=json.dumps(detail, sort_keys=True, separators=(",", ":")),
        sender=gateway_id, sender_unit=gateway_id, recipient=gateway_id, recipient_unit=gateway_id, case="registry",
        resource=KEY_HISTORY, payload_digest=content_digest(canonical), signature_digest=content_digest(b""),
    ))
    return Applied(version, changes, appended)


def sync_registry(session: Session, registry: Registry) -> None:
    """Make the tables say what the registry says. Institutions and units dropped from it, or
    marked inactive, are deactivated, not deleted: their past exchanges still reference them; their
    certificates are no longer listed."""
    rows = [
        {"id": i.id, "name_fr": i.name_fr, "name_ar": i.name_ar, "role": i.role.value, "active": i.active}
        for i in registry.institutions
    ]
    upsert(session, Institution, rows, keys=["id"])
    listed = [i.id for i in registry.institutions]
    session.execute(update(Institution).where(Institution.id.not_in(listed)).values(active=False))
    units = [(institution, unit) for institution in registry.institutions for unit in institution.all_units()]
    upsert(session, Unit, [
        {"id": unit.id, "institution_id": institution.id, "name_fr": unit.name_fr, "name_ar": unit.name_ar,
         "regions": [region.value for region in unit.regions], "head_office": unit.id == institution.id, "active": unit.active}
        for institution, unit in units
    ], keys=["id"])
    session.execute(update(Unit).where(Unit.id.not_in([unit.id for _, unit in units])).values(active=False))
    session.execute(delete(InstitutionCertificate))
    session.add_all(
        InstitutionCertificate(institution_id=institution.id, unit_id=unit.id, sha256=ref.sha256, subject=ref.subject)
        for institution, unit in units if unit.active
        for ref in unit.certificates
    )
    for _, unit in units:
        sequences.ensure(session, inbox_sequence(unit.id))


def certificate_id(ref: CertificateRef) -> dict[str, str]:
    """A certificate as a ledger entry names it: its fingerprint, or the digest of its subject (never the subject itself)."""
    return {"sha256": ref.sha256} if ref.sha256 else {"subject_sha256": hashlib.sha256(ref.subject.encode()).hexdigest()}


@dataclass(frozen=True)
class PublishedKey:
    """A key as one version published it."""

    kid: str
    owner: str
    purpose: str  # requests (an institution's or unit's), receipts, ledger-checkpoints (the gateway's)
    jwk: dict[str, Any]
    not_before: datetime | None
    not_after: datetime | None
    revoked: bool  # revoked in the registry
    owner_active: bool

    def trusted(self) -> bool:
        return not self.revoked and self.owner_active

    def expired(self, at: datetime) -> bool:
        return self.not_after is not None and self.not_after <= at


@dataclass(frozen=True)
class _State:
    """What one version trusts, reduced to what its changes are named by."""

    institutions: dict[str, tuple[bool, str]]  # id → (active, digest of the rest of its entry)
    units: dict[str, tuple[bool, str]]
    certificates: frozenset[tuple[str, tuple[tuple[str, str], ...]]]  # (unit, certificate id)
    keys: dict[str, PublishedKey]
    serials: frozenset[int]
    at: datetime

    @classmethod
    def empty(cls) -> _State:
        return cls({}, {}, frozenset(), {}, frozenset(), datetime.min.replace(tzinfo=UTC))

    @classmethod
    def of_row(cls, row: RegistryVersion) -> _State:
        stored = Proposal.of_row(row)
        return cls.of(stored.registry, stored.revocations, stored.gateway_keys, row.applied_at)

    @classmethod
    def of(cls, registry: Registry, revocations: Revocations, gateway_keys: list[dict[str, Any]], at: datetime) -> _State:
        institutions, units, certificates = {}, {}, set()
        for institution in registry.institutions:
            institutions[institution.id] = (institution.active, _digest(institution.model_dump(
                mode="json", exclude={"active", "units", "certificates", "signing_keys"})))
            for unit in institution.all_units():
                if unit.id != institution.id:
                    units[unit.id] = (unit.active, _digest(unit.model_dump(mode="json", exclude={"active", "certificates", "signing_keys"})))
                certificates.update((unit.id, tuple(certificate_id(ref).items())) for ref in unit.certificates)
        keys = {key.kid: key for key in published_keys(registry, gateway_keys)}
        return cls(institutions, units, frozenset(certificates), keys, revocations.serials, at)

    def changes_to(self, after: _State) -> list[dict[str, str]]:
        """Each change from this version to `after`, in a stable order: institutions, units,
        certificates, keys, revocations."""
        changes = [
            *_lifecycle("institution", self.institutions, after.institutions),
            *_lifecycle("unit", self.units, after.units),
            *({"change": "certificate_added", "unit": unit, **dict(ref)} for unit, ref in sorted(after.certificates - self.certificates)),
            *({"change": "certificate_removed", "unit": unit, **dict(ref)} for unit, ref in sorted(self.certificates - after.certificates)),
            *({"change": "certificate_revoked", "serial": f"{serial:x}"} for serial in sorted(after.serials - self.serials)),
            *({"change": "certificate_reinstated", "serial": f"{serial:x}"} for serial in sorted(self.serials - after.serials)),
        ]
        for kid in sorted(self.keys.keys() | after.keys.keys()):
            old, new = self.keys.get(kid), after.keys.get(kid)
            named = {"kid": kid, "owner": (new or old).owner}
            for change in _key_changes(old, new, self.at, after.at):
                changes.append({"change": change, **named})
        return changes


def _key_changes(old: PublishedKey | None, new: PublishedKey | None, before: datetime, now: datetime) -> Iterable[str]:
    if old is None or new is None:
        yield "key_added" if old is None else "key_removed"
        return
    if new.revoked and not old.revoked:
        yield "key_revoked"
    if new.expired(now) and not old.expired(before):
        yield "key_expired"
    if (old.jwk, old.not_before, old.not_after, old.owner) != (new.jwk, new.not_before, new.not_after, new.owner) or (old.revoked and not new.revoked):
        yield "key_changed"


def _lifecycle(what: str, before: dict[str, tuple[bool, str]], after: dict[str, tuple[bool, str]]) -> Iterable[dict[str, str]]:
    """Added, deactivated (or dropped from the file), reactivated, or otherwise changed (names, regions, role, witness keys)."""
    for identifier in sorted(before.keys() | after.keys()):
        old, new = before.get(identifier), after.get(identifier)
        if old == new:
            continue
        if old is None:
            change = "added" if new[0] else "deactivated"
        elif new is None or (old[0] and not new[0]):
            change = "deactivated"
        elif new[0] and not old[0]:
            change = "reactivated"
        else:
            change = "changed"
        yield {"change": f"{what}_{change}", "id": identifier}


def _digest(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()


def published_keys(registry: Registry, gateway_keys: list[dict[str, Any]]) -> list[PublishedKey]:
    """Every key a version publishes: the institutions' and units' request keys, then the gateway's."""
    keys = [
        PublishedKey(key.kid, unit.id, "requests", key.jwk.model_dump(), key.not_before, key.not_after, key.revoked, unit.active)
        for institution in registry.institutions for unit in institution.all_units() for key in unit.signing_keys
    ]
    for jwk in gateway_keys:
        public = {name: value for name, value in jwk.items() if name not in ("kid", "owner", "purpose", "use", "alg", "note_key")}
        keys.append(PublishedKey(jwk["kid"], jwk["owner"], jwk["purpose"], public, None, None, False, True))
    return keys


@dataclass(frozen=True)
class KeyRecord:
    """A key over the whole history: when it was first and last trusted, and when it was revoked."""

    key: PublishedKey  # as the latest version that listed it published it
    first_version: int | None  # None: never trusted (listed revoked, or for an inactive owner, from the start)
    trusted_from: datetime | None
    last_version: int | None
    trusted_until: datetime | None  # when the version that stopped trusting it was applied; None: still trusted, or never
    revoked_at: datetime | None


def key_history(session: Session) -> tuple[int | None, list[KeyRecord]]:
    """The version in force, and every key any version published, in the order first published."""
    tracked: dict[str, _Tracking] = {}
    latest = None
    for row in session.execute(select(RegistryVersion).order_by(RegistryVersion.version)).scalars():
        latest = row.version
        stored = Proposal.of_row(row)
        listed = {key.kid: key for key in published_keys(stored.registry, stored.gateway_keys)}
        for kid, key in listed.items():
            tracked.setdefault(kid, _Tracking(key)).key = key
        for kid, tracking in tracked.items():
            tracking.at_version(row, listed.get(kid))
    return latest, [tracking.record() for tracking in tracked.values()]


@dataclass
class _Tracking:
    key: PublishedKey
    first_version: int | None = None
    trusted_from: datetime | None = None
    last_version: int | None = None
    trusted_until: datetime | None = None
    revoked_at: datetime | None = None
    trusted: bool = False

    def at_version(self, row: RegistryVersion, listed: PublishedKey | None) -> None:
        """What version `row` did to the key (`listed` as it lists it, None if it does not)."""
        trusted = listed is not None and listed.trusted()
        if trusted:
            if self.first_version is None:
                self.first_version, self.trusted_from = row.version, row.applied_at
            self.last_version, self.trusted_until = row.version, None
        elif self.trusted:
            self.trusted_until = row.applied_at
        if listed is not None and listed.revoked and self.revoked_at is None:
            self.revoked_at = row.applied_at
        self.trusted = trusted

    def record(self) -> KeyRecord:
        return KeyRecord(self.key, self.first_version, self.trusted_from, self.last_version, self.trusted_until, self.revoked_at)
