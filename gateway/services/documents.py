"""Documents of a case: received as a stream, checked on their bytes, sealed with the case's data
key into the blob store, and attached in the exchange's transaction.

An upload goes through three steps, so that the database's write lock is not held while a large
document arrives: `prepare` (may this caller attach to this case, and with which key), `DocumentSink`
(bytes in: size, type, digest, encryption, staging), then `attach` (the row, in the exchange's
transaction, re-checking the case). Nothing is visible until `attach` is committed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.documents import SNIFF_BYTES, detect_type, short_name
from gateway.domain.party import Party
from gateway.domain.vocabulary import CaseStatus, InboxEventKind, LedgerKind
from gateway.problems import ProblemError
from gateway.security.signing import sha256_field
from gateway.services.cases import case_event, case_location, counterpart, get_case, live_key, lock_case, read_case
from gateway.services.vault import Vault
from gateway.storage.blobs import BlobStore, StagedBlob
from gateway.storage.models import Case, Document

if TYPE_CHECKING:
    from gateway.services.exchange import WriteUnit

_PIECE_BYTES = 512 * 1024


@dataclass(frozen=True)
class UploadTarget:
    case_id: str
    document_id: str
    data_key: bytes


def _writable_key(case: Case, data_key: bytes | None) -> bytes:
    if case.status == CaseStatus.CLOSED.value:
        raise ProblemError("case-closed", "documents are attached to open cases only")
    return live_key(data_key, "documents")


def prepare(session: Session, vault: Vault, caller: Party, case_id: str) -> UploadTarget:
    """Check the upload may go ahead before reading any of its bytes."""
    keyed = read_case(session, vault, caller, case_id)
    case, key = keyed.case, _writable_key(keyed.case, keyed.data_key)
    return UploadTarget(case.id, str(uuid.uuid4()), key)


@dataclass(frozen=True)
class Received:
    media_type: str
    size: int
    digest: str  # RFC 9530 sha-256 of the plaintext


class DocumentSink:
    """Bytes in, in chunks of any size: counts them against the limit, identifies the type from
    the first bytes, hashes and encrypts them into a staged blob. Memory: one segment and the
    first SNIFF_BYTES, whatever the document's size."""

    def __init__(self, target: UploadTarget, staged: StagedBlob, max_bytes: int, allowed_types: list[str]) -> None:
        self._staged, self._max_bytes, self._allowed = staged, max_bytes, allowed_types
        self._encryptor = Vault.document_encryptor(target.data_key, target.case_id, target.document_id)
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._size = 0
        self.media_type: str | None = None

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise ProblemError("payload-too-large", f"a document has at most {self._max_bytes} bytes", headers={"Connection": "close"})
        if self.media_type is None:
            self._head += chunk
            if len(self._head) >= SNIFF_BYTES:
                self._identify()
            return
        self._absorb(chunk)

    def finish(self) -> Received:
        if self.media_type is None:
            self._identify()
        self._staged.write(self._encryptor.finish())
        return Received(self.media_type, self._size, sha256_field(self._hash.digest()))

    def _identify(self) -> None:
        detected = detect_type(bytes(self._head[:SNIFF_BYTES]))
        if detected not in self._allowed:
            raise ProblemError(
                "document-type-refused",
                f"the bytes are {'of no recognised type' if detected is None else detected}; accepted: {', '.join(self._allowed)}",
                headers={"Connection": "close"}, accepted=list(self._allowed),
            )
        self.media_type = detected
        self._staged.write(self._encryptor.header)
        head, self._head = bytes(self._head), bytearray()
        self._absorb(head)

    def _absorb(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._staged.write(self._encryptor.update(chunk))


def attach(unit: WriteUnit, target: UploadTarget, received: Received, disposition: str) -> Document:
    """Record the document in the exchange's transaction; the case is re-checked under its lock
    (it may have been closed, or its personal data erased, while the bytes were arriving)."""
    session, caller, vault = unit.session, unit.caller, unit.vault
    keyed = lock_case(session, vault, caller, target.case_id)
    case, key = keyed.case, _writable_key(keyed.case, keyed.data_key)
    if key != target.data_key:
        raise ProblemError("personal-data-erased", "this case's data key changed while the document was arriving")
    now = datetime.now(UTC)
    document = Document(
        id=target.document_id, case_id=case.id, sender_id=caller.id, sender_unit=caller.unit_id, media_type=received.media_type, size=received.size,
        digest=received.digest, disposition_sealed=vault.seal_disposition(key, case.id, target.document_id, disposition),
        created_at=now, signature=unit.signature, erased_at=None,
    )
    session.add(document)
    case.updated_at = now
    unit.publish(counterpart(case, caller.id), InboxEventKind.DOCUMENT_ATTACHED, case)
    unit.record(case_event(case, caller, LedgerKind.DOCUMENT_ATTACHED, detail=short_name(document.media_type),
                           location=document_location(document)))
    return document


def document_location(document: Document) -> str:
    return f"{case_location(document.case_id)}/documents/{document.id}"


def documents_of(session: Session, caller: Party, case_id: str) -> list[Document]:
    case = get_case(session, caller, case_id)
    statement = select(Document).where(Document.case_id == case.id).order_by(Document.created_at, Document.id)
    return list(session.execute(statement).scalars())


def get_document(session: Session, caller: Party, case_id: str, document_id: str) -> Document:
    case = get_case(session, caller, case_id)
    document = session.get(Document, document_id)
    if document is None or document.case_id != case.id:
        raise ProblemError("not-found", "no such document on this case")
    return document


@dataclass(frozen=True)
class Readable:
    """What a download needs once the database session is closed."""

    document: Document
    data_key: bytes


def readable(session: Session, vault: Vault, caller: Party, case_id: str, document_id: str) -> Readable:
    document = get_document(session, caller, case_id, document_id)
    key = vault.data_key(session, document.case_id) if document.erased_at is None else None
    if key is None:
        raise ProblemError("personal-data-erased", "this document was erased with the case's personal data")
    return Readable(document, key)


def content(blobs: BlobStore, readable: Readable, start: int, end: int) -> Iterator[bytes]:
    """Plaintext bytes [start, end), decrypted one authenticated segment at a time and handed on
    in pieces of about `_PIECE_BYTES` (each piece costs the server a hop between threads). A
    missing blob, or one of the wrong length, fails here, before any response header is sent."""
    source = blobs.open(readable.document.id)
    try:
        segments = Vault.document_bytes(readable.data_key, readable.document, source, start, end)
    except BaseException:
        source.close()
        raise
    return _pieces(source, segments)


def _pieces(source: BinaryIO, segments: Iterator[bytes]) -> Iterator[bytes]:
    with source:
        pending: list[bytes] = []
        held = 0
        for segment in segments:
            pending.append(segment)
            held += len(segment)
            if held >= _PIECE_BYTES:
                yield b"".join(pending)
                pending, held = [], 0
        if pending:
            yield b"".join(pending)

