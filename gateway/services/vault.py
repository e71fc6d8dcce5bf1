"""Personal data at rest: each case's complainant fields, signed opening, document names (their
Content-Disposition) and document bytes are sealed with the case's own data key, wrapped by the master key. Erasure destroys
the key and the ciphertexts: the case keeps its non-personal skeleton, and the ledger (digests only)
still verifies.

Master-key rotation re-wraps the data keys (a few dozen bytes per case) and never re-encrypts a
document: each wrapped key names the master key that wrapped it, and retired master keys stay
configured until `gateway master-key rotate` has re-wrapped everything under the current one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from gateway.security.encryption import DecryptionFailed, MasterKey, new_data_key, open_sealed, seal, unwrap, wrap
from gateway.security.streaming import SegmentEncryptor, decrypt_range
from gateway.storage.models import Case, CaseKey, Document, IdempotencyRecord


class Vault:
    def __init__(self, master: MasterKey, retired: Sequence[MasterKey] = ()) -> None:
        self.master = master
        self._masters = {key.id: key for key in (*retired, master)}

    def seal_case(self, session: Session, case: Case, complainant: dict[str, Any], signed_body: str | None) -> None:
        """Give a new case its data key and seal its personal data with it (caller's transaction)."""
        data_key = new_data_key()
        session.add(CaseKey(case_id=case.id, master_key_id=self.master.id, wrapped=wrap(self.master, data_key, case.id)))
        case.complainant_sealed = seal(data_key, json.dumps(complainant, ensure_ascii=False).encode(), _context(case.id, "complainant"))
        case.signed_body_sealed = seal(data_key, signed_body.encode(), _context(case.id, "signed_body")) if signed_body else None

    def data_key(self, session: Session, case_id: str) -> bytes | None:
        """The case's data key, or None once erased; DecryptionFailed if its master key is not configured."""
        row = session.get(CaseKey, case_id)
        if row is None or row.wrapped is None:
            return None
        master = self._masters.get(row.master_key_id or "")
        if master is None:
            raise DecryptionFailed(f"case {case_id}'s data key is wrapped by master key {row.master_key_id}, which is not configured")
        return unwrap(master, row.wrapped, case_id)

    def open_case(self, session: Session, case: Case) -> tuple[dict[str, Any] | None, str | None]:
        """The complainant and the signed opening body, or (None, None) once erased."""
        key = self.data_key(session, case.id)
        if key is None or case.complainant_sealed is None:
            return None, None
        complainant = json.loads(open_sealed(key, case.complainant_sealed, _context(case.id, "complainant")))
        body = open_sealed(key, case.signed_body_sealed, _context(case.id, "signed_body")).decode() if case.signed_body_sealed else None
        return complainant, body

    def erase(self, session: Session, case: Case) -> list[str]:
        """Crypto-shredding: the data key and the ciphertexts go; nothing personal is left to recover.
        Returns the blobs to delete once this is committed (without the key they are noise already)."""
        row = session.get(CaseKey, case.id)
        if row is not None:
            row.wrapped, row.master_key_id = None, None
        now = datetime.now(UTC)
        case.complainant_sealed = case.signed_body_sealed = None
        case.personal_data_erased_at = now
        documents = list(session.execute(select(Document).where(Document.case_id == case.id, Document.erased_at.is_(None))).scalars())
        for document in documents:
            document.disposition_sealed, document.erased_at = None, now
        return [document.id for document in documents]

    # Documents --------------------------------------------------------------------------------

    @staticmethod
    def document_encryptor(data_key: bytes, case_id: str, document_id: str) -> SegmentEncryptor:
        return SegmentEncryptor(data_key, _context(case_id, f"document:{document_id}"))

    @staticmethod
    def document_bytes(data_key: bytes, document: Document, source: BinaryIO, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return decrypt_range(data_key, _context(document.case_id, f"document:{document.id}"), source, document.size, start, end)

    @staticmethod
    def seal_disposition(data_key: bytes, case_id: str, document_id: str, disposition: str) -> bytes:
        """The Content-Disposition header exactly as signed: it names the file, and the sender's
        signature covers its digest."""
        return seal(data_key, disposition.encode(), _context(case_id, f"disposition:{document_id}"))

    @staticmethod
    def open_disposition(data_key: bytes, document: Document) -> str | None:
        if document.disposition_sealed is None:
            return None
        return open_sealed(data_key, document.disposition_sealed, _context(document.case_id, f"disposition:{document.id}")).decode()

    # Idempotent replies and rotation -----------------------------------------------------------

    def seal_reply(self, body: str, context: str) -> str:
        """An idempotent reply kept for retries may hold personal data (a case's first answer): sealed
        under the master key (replies are short-lived; after a rotation, older ones open with the retired key)."""
        return base64.b64encode(seal(self.master.key, body.encode(), context)).decode()

    def open_reply(self, stored: str, context: str) -> str:
        sealed = base64.b64decode(stored)
        for master in reversed(self._masters.values()):  # the current key first
            try:
                return open_sealed(master.key, sealed, context).decode()
            except DecryptionFailed:
                continue
        raise DecryptionFailed("the stored reply opens with no configured master key")

    def rewrap_batch(self, session: Session, batch: int = 500) -> int:
        """Re-wrap up to `batch` data keys not wrapped by the current master key (the caller commits
        each batch). Returns how many; 0 when none is left."""
        rows = session.execute(
            select(CaseKey).where(CaseKey.wrapped.is_not(None), CaseKey.master_key_id != self.master.id).limit(batch)
        ).scalars().all()
        for row in rows:
            data_key = self.data_key(session, row.case_id)
            row.wrapped, row.master_key_id = wrap(self.master, data_key, row.case_id), self.master.id
        return len(rows)

    def reseal_replies_batch(self, session: Session, after: tuple[str, str] | None, batch: int = 500) -> tuple[str, str] | None:
        """Re-seal stored idempotent replies under the current master key, `batch` at a time in key
        order; returns where to resume, or None when done."""
        statement = select(IdempotencyRecord).where(IdempotencyRecord.response_body.is_not(None))
        if after is not None:
            statement = statement.where(tuple_(IdempotencyRecord.institution_id, IdempotencyRecord.key) > after)
        rows = session.execute(statement.order_by(IdempotencyRecord.institution_id, IdempotencyRecord.key).limit(batch)).scalars().all()
        for row in rows:
            context = reply_context(row)
            row.response_body = self.seal_reply(self.open_reply(row.response_body, context), context)
        return (rows[-1].institution_id, rows[-1].key) if rows else None


def reply_context(record_or_claim) -> str:
    return f"idempotent reply:{record_or_claim.institution_id}:{record_or_claim.key}"


def _context(case_id: str, field: str) -> str:
    return f"case:{case_id}:{field}"
