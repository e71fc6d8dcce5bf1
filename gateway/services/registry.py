"""Mirroring the registry file into the database, and finding who holds a certificate."""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from gateway.security.identity import ClientCertificate
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


def institution_for_certificate(session: Session, client: ClientCertificate) -> Institution | None:
    """The active institution that registered this certificate's fingerprint or subject.

    Matching by subject is safe because only certificates issued by the client CA get here
    (checked by the TLS handshake, or by identity.check_forwarded_certificate for a proxy)."""
    statement = (
        select(Institution)
        .join(InstitutionCertificate)
        .where(
            Institution.active.is_(True),
            or_(InstitutionCertificate.sha256 == client.fingerprint, InstitutionCertificate.subject == client.subject),
        )
        .order_by(InstitutionCertificate.sha256.is_(None))  # an exact fingerprint wins over a subject
        .limit(1)
    )
    return session.execute(statement).scalars().first()
