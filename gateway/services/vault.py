"""Personal data at rest: each case's complainant fields, free text (title, summary, requested
action, message bodies), signed bodies, document names (their Content-Disposition) and document
bytes are sealed with the case's own data key, wrapped by the master key. Erasure destroys
the key and the ciphertexts: the case keeps its non-personal skeleton, and the ledger (digests only)
still verifies.

A thematic file's free text (title, description, message bodies) and signed bodies are sealed
the same way with the file's own data key; thematic files are not erased.

Master-key rotation re-wraps the data keys (a few dozen bytes per case) and never re-encrypts a
document: each wrapped key names the master key that wrapped it, and retired master keys stay
configured until `gateway master-key rotate` has re-wrapped everything under the current one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from gateway.security.encryption import DecryptionFailed, MasterKey, new_data_key, open_sealed, seal, unwrap, wrap
from gateway.security.streaming import SegmentEncryptor, decrypt_range
from gateway.storage.models import Case, CaseKey, Document, IdempotencyRecord, Message, ThematicFile, ThematicKey, ThematicMessage


@dataclass(frozen=True)
class CaseContent:
    """What a case holds that is personal; all None once erased."""

    complainant: dict[str, Any] | None
    narrative: dict[str, str] | None  # title, summary, requested_action
    signed_body: str | None


ERASED = CaseContent(None, None, None)


class Vault:
    def __init__(self, master: MasterKey, retired: Sequence[MasterKey] = ()) -> None:
        self.master = master
        self._masters = {key.id: key for key in (*retired, master)}

    def seal_case(self, session: Session, case: Case, content: CaseContent) -> bytes:
        """Give a new case its data key and seal its personal data with it (caller's transaction);
        returns the data key."""
        data_key = new_data_key()
        session.add(CaseKey(case_id=case.id, master_key_id=self.master.id, wrapped=wrap(self.master, data_key, case.id)))
        case.complainant_sealed = _seal_json(data_key, content.complainant, _context(case.id, "complainant"))
        case.narrative_sealed = _seal_json(data_key, content.narrative, _context(case.id, "narrative"))
        case.signed_body_sealed = _seal_text(data_key, content.signed_body, _context(case.id, "signed_body"))
        return data_key

    def seal_thematic_file(self, session: Session, file: ThematicFile, narrative: dict[str, str], signed_body: str | None) -> bytes:
        """Give a new thematic file its data key and seal its free text with it; returns the key."""
        data_key = new_data_key()
        session.add(ThematicKey(thematic_file_id=file.id, master_key_id=self.master.id, wrapped=wrap(self.master, data_key, file.id)))
        file.narrative_sealed = _seal_json(data_key, narrative, _thematic_context(file.id, "narrative"))
        file.signed_body_sealed = _seal_text(data_key, signed_body, _thematic_context(file.id, "signed_body"))
        return data_key

    @staticmethod
    def thematic_content(key: bytes, file: ThematicFile) -> tuple[dict[str, str], str | None]:
        """A thematic file's title and description, and the body its opener signed."""
        return (_open_json(key, file.narrative_sealed, _thematic_context(file.id, "narrative")),
                _open_text(key, file.signed_body_sealed, _thematic_context(file.id, "signed_body")))

    def data_key(self, session: Session, case_id: str) -> bytes | None:
        """The case's data key, or None once erased; DecryptionFailed if its master key is not configured."""
        return self.unwrap(session.get(CaseKey, case_id))

    def unwrap(self, row: CaseKey | ThematicKey | None) -> bytes | None:
        """The data key a `case_keys` (or `thematic_file_keys`) row holds, or None once erased."""
        if row is None or row.wrapped is None:
            return None
        master = self._masters.get(row.master_key_id or "")
        if master is None:
            raise DecryptionFailed(f"{row.owner_id}'s data key is wrapped by master key {row.master_key_id}, which is not configured")
        return unwrap(master, row.wrapped, row.owner_id)

    @staticmethod
    def content(key: bytes | None, case: Case) -> CaseContent:
        """The case's personal content, opened with its data key (None once erased)."""
        if key is None:
            return ERASED
        return CaseContent(
            _open_json(key, case.complainant_sealed, _context(case.id, "complainant")),
            _open_json(key, case.narrative_sealed, _context(case.id, "narrative")),
            _open_text(key, case.signed_body_sealed, _context(case.id, "signed_body")),
        )

    def titles(self, session: Session, cases: list[Case]) -> dict[str, str | None]:
        """The titles of a page of cases, with one query for their keys."""
        rows = session.execute(select(CaseKey).where(CaseKey.case_id.in_([case.id for case in cases]))).scalars()
        wrapped = {row.case_id: row for row in rows}
        titles: dict[str, str | None] = {}
        for case in cases:
            row = wrapped.get(case.id)
            key = self.unwrap(row)
            narrative = _open_json(key, case.narrative_sealed, _context(case.id, "narrative")) if key else None
            titles[case.id] = narrative["title"] if narrative else None
        return titles

    @staticmethod
    def seal_message(data_key: bytes, message: Message | ThematicMessage, body: str, signed_body: str | None) -> None:
        """A case's message, or a thematic file's, sealed with its case's (or file's) key."""
        message.body_sealed = _seal_text(data_key, body, _message_context(message, "body"))
        message.signed_body_sealed = _seal_text(data_key, signed_body, _message_context(message, "signed_body"))

    @staticmethod
    def open_message(data_key: bytes | None, message: Message | ThematicMessage) -> tuple[str | None, str | None]:
        """A message's body and signed body, or (None, None) once the case was erased."""
        if data_key is None:
            return None, None
        return (_open_text(data_key, message.body_sealed, _message_context(message, "body")),
                _open_text(data_key, message.signed_body_sealed, _message_context(message, "signed_body")))

    def erase(self, session: Session, case: Case) -> list[str]:
        """Crypto-shredding: the data key and the ciphertexts go; nothing personal is left to recover.
        Returns the blobs to delete once this is committed (without the key they are noise already)."""
        row = session.get(CaseKey, case.id)
        if row is not None:
            row.wrapped, row.master_key_id = None, None
        now = datetime.now(UTC)
        case.complainant_sealed = case.narrative_sealed = case.signed_body_sealed = None
        case.personal_data_erased_at = now
        session.execute(update(Message).where(Message.case_id == case.id).values(body_sealed=None, signed_body_sealed=None))
        documents = list(session.execute(select(Document).where(Document.case_id == case.id, Document.erased_at.is_(None))).scalars())
        for document in documents:
            document.disposition_sealed, document.erased_at = None, now
        return [document.id for document in documents]

    # Documents --------------------------------------------------------------------------------

    # A document is a case's or a thematic file's (`thematic`), sealed with that one's key.

    @staticmethod
    def document_encryptor(data_key: bytes, held_id: str, document_id: str, *, thematic: bool = False) -> SegmentEncryptor:
        return SegmentEncryptor(data_key, _held_context(held_id, thematic, f"document:{document_id}"))

    @staticmethod
    def document_bytes(data_key: bytes, document: Document, source: BinaryIO, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return decrypt_range(data_key, _document_context(document, "document"), source, document.size, start, end)

    @staticmethod
    def seal_disposition(data_key: bytes, held_id: str, document_id: str, disposition: str, *, thematic: bool = False) -> bytes:
        """The Content-Disposition header exactly as signed: it names the file, and the sender's
        signature covers its digest."""
        return seal(data_key, disposition.encode(), _held_context(held_id, thematic, f"disposition:{document_id}"))

    @staticmethod
    def open_disposition(data_key: bytes, document: Document) -> str | None:
        if document.disposition_sealed is None:
            return None
        return open_sealed(data_key, document.disposition_sealed, _document_context(document, "disposition")).decode()

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
        each batch). Returns how many; 0 when none is left. Cases' keys first, then thematic files'."""
        rows: list[CaseKey | ThematicKey] = []
        for keys in (CaseKey, ThematicKey):
            rows += session.execute(
                select(keys).where(keys.wrapped.is_not(None), keys.master_key_id != self.master.id).limit(batch - len(rows))
            ).scalars().all()
        for row in rows:
            row.wrapped, row.master_key_id = wrap(self.master, self.unwrap(row), row.owner_id), self.master.id
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


def _thematic_context(file_id: str, field: str) -> str:
    return f"thematic:{file_id}:{field}"


def _held_context(held_id: str, thematic: bool, field: str) -> str:
    return _thematic_context(held_id, field) if thematic else _context(held_id, field)


def _document_context(document: Document, use: str) -> str:
    thematic = document.thematic_file_id is not None
    return _held_context(document.thematic_file_id if thematic else document.case_id, thematic, f"{use}:{document.id}")


def _message_context(message: Message | ThematicMessage, field: str) -> str:
    if isinstance(message, ThematicMessage):
        return _thematic_context(message.thematic_file_id, f"message:{message.id}:{field}")
    return _context(message.case_id, f"message:{message.id}:{field}")


def _seal_text(key: bytes, text: str | None, context: str) -> bytes | None:
    return seal(key, text.encode(), context) if text is not None else None


def _open_text(key: bytes, sealed: bytes | None, context: str) -> str | None:
    return open_sealed(key, sealed, context).decode() if sealed is not None else None


def _seal_json(key: bytes, value: dict[str, Any] | None, context: str) -> bytes | None:
    return _seal_text(key, json.dumps(value, ensure_ascii=False) if value is not None else None, context)


def _open_json(key: bytes, sealed: bytes | None, context: str) -> Any:
    text = _open_text(key, sealed, context)
    return json.loads(text) if text is not None else None
