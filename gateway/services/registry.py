"""Mirroring the registry file into the database (who holds a certificate is answered from memory:
gateway.security.registry.Directory)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from gateway.security.registry import Registry
from gateway.storage import sequences
from gateway.storage.models import Institution, InstitutionCertificate, Unit
from gateway.storage.upsert import upsert


def inbox_sequence(unit_id: str) -> str:
    return f"inbox:{unit_id}"


def sync_registry(session: Session, registry: Registry) -> None:
    """Make the tables say what the file says. Institutions dropped from the file are deactivated,
    not deleted: their past exchanges still reference them."""
    rows = [
        {"id": i.id, "name_fr": i.name_fr, "name_ar": i.name_ar, "role": i.role.value, "active": True}
        for i in registry.institutions
    ]
    upsert(session, Institution, rows, keys=["id"])
    listed = [i.id for i in registry.institutions]
    session.execute(update(Institution).where(Institution.id.not_in(listed)).values(active=False))
    units = [(institution, unit) for institution in registry.institutions for unit in institution.all_units()]
    upsert(session, Unit, [
        {"id": unit.id, "institution_id": institution.id, "name_fr": unit.name_fr, "name_ar": unit.name_ar,
         "regions": [region.value for region in unit.regions], "head_office": unit.id == institution.id, "active": True}
        for institution, unit in units
    ], keys=["id"])
    session.execute(update(Unit).where(Unit.id.not_in([unit.id for _, unit in units])).values(active=False))
    session.execute(delete(InstitutionCertificate))
    session.add_all(
        InstitutionCertificate(institution_id=institution.id, unit_id=unit.id, sha256=ref.sha256, subject=ref.subject)
        for institution, unit in units
        for ref in unit.certificates
    )
    for _, unit in units:
        sequences.ensure(session, inbox_sequence(unit.id))
