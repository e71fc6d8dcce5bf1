"""Mirroring the registry file into the database (who holds a certificate is answered from memory:
gateway.security.registry.Directory)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from gateway.security.registry import Registry
from gateway.storage import sequences
from gateway.storage.models import Institution, InstitutionCertificate
from gateway.storage.upsert import upsert


def inbox_sequence(institution_id: str) -> str:
    return f"inbox:{institution_id}"


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
    session.execute(delete(InstitutionCertificate))
    session.add_all(
        InstitutionCertificate(institution_id=i.id, sha256=ref.sha256, subject=ref.subject)
        for i in registry.institutions
        for ref in i.certificates
    )
    for institution_id in listed:
        sequences.ensure(session, inbox_sequence(institution_id))
