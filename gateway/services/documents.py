"""Documents of a case or a thematic file (its `Holder`): received as a stream, checked on their
bytes, sealed with the holder's data key into the blob store, and attached in the exchange's
transaction.

An upload goes through three steps, so that the database's write lock is not held while a large
document arrives: `prepare` (may this caller attach to this case, and with which key), `DocumentSink`
(bytes in: size, type, digest, encryption, staging), then `attach` (the row, in the exchange's
transaction, re-checking the case). Nothing is visible until `attach` is committed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.documents import SNIFF_BYTES, detect_type, short_name
from gateway.domain.party import Party
from imr_alomrane_gateway_client.vocabulary import CaseStatus, InboxEventKind, LedgerKind
from gateway.problems import ProblemError
from imr_alomrane_gateway_client.signing import sha256_field
from gateway.services import thematic
from gateway.services.cases import Held, KeyedCase, case_event, case_location, counterpart, live_key, lock_case, read_case
from gateway.services.vault import Vault
from gateway.storage.blobs import BlobStore, StagedBlob
from gateway.storage.models import Document

if TYPE_CHECKING:
    from gateway.services.exchange import WriteUnit

_PIECE_BYTES = 512 * 1024


KeyedRead = Callable[[Session, Vault, Party, str], KeyedCase | thematic.KeyedFile]  # `.held` and its `.data_key`


@dataclass(frozen=True)
class Holder:
    """What documents are attached to: a case, or a thematic file. `read` and `lock` find it (if
    the caller sees it) with its data key; `column` is the documents' column naming it."""

    read: KeyedRead
    lock: KeyedRead
    column: str
    location: Callable[[str], str]
    what: str

    def of(self, document: Document) -> str:
        return getattr(document, self.column)


CASES = Holder(read_case, lock_case, "case_id", case_location, "case")
THEMATIC_FILES = Holder(thematic.read_file, thematic.lock_file, "thematic_file_id", thematic.file_location, "thematic file")


def holder_of(document: Document) -> Holder:
    return THEMATIC_FILES if document.thematic_file_id else CASES


@dataclass(frozen=True)
class UploadTarget:
    holder: Holder
    held_id: str  # the case's or thematic file's
    document_id: str
    data_key: bytes

    @property
    def thematic(self) -> bool:
        return self.holder is THEMATIC_FILES


def _writable_key(held: Held, data_key: bytes | None) -> bytes:
    if held.status == CaseStatus.CLOSED.value:
        raise ProblemError("case-closed", "documents are attached to open files only")
    return live_key(data_key, "documents")


def prepare(session: Session, vault: Vault, caller: Party, holder: Holder, held_id: str) -> UploadTarget:
    """Check the upload may go ahead before reading any of its bytes."""
    keyed = holder.read(session, vault, caller, held_id)
    return UploadTarget(holder, keyed.held.id, str(uuid.uuid4()), _writable_key(keyed.held, keyed.data_key))


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
        self._encryptor = Vault.document_encryptor(target.data_key, target.held_id, target.document_id, thematic=target.thematic)
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
    """Record the document in the exchange's transaction; the case (or file) is re-checked under
    its lock (it may have been closed, or its personal data erased, while the bytes were arriving)."""
    session, caller, vault = unit.session, unit.caller, unit.vault
    keyed = target.holder.lock(session, vault, caller, target.held_id)
    held, key = keyed.held, _writable_key(keyed.held, keyed.data_key)
    if key != target.data_key:
        raise ProblemError("personal-data-erased", "this case's data key changed while the document was arriving")
    now = datetime.now(UTC)
    document = Document(
        id=target.document_id, sender_id=caller.id, sender_unit=caller.unit_id, media_type=received.media_type, size=received.size,
        digest=received.digest, created_at=now, signature=unit.signature, erased_at=None, **{target.holder.column: held.id},
        disposition_sealed=vault.seal_disposition(key, held.id, target.document_id, disposition, thematic=target.thematic),
    )
    session.add(document)
    held.updated_at = now
    unit.publish(counterpart(held, caller.id), InboxEventKind.DOCUMENT_ATTACHED, held)
    unit.record(case_event(held, caller, LedgerKind.DOCUMENT_ATTACHED, detail=short_name(document.media_type),
                           location=document_location(document)))
    return document


def document_location(document: Document) -> str:
    holder = holder_of(document)
    return f"{holder.location(holder.of(document))}/documents/{document.id}"


@dataclass(frozen=True)
class Listed:
    documents: list[Document]
    data_key: bytes | None  # their holder's (None once a case's personal data was erased)


def documents_of(session: Session, vault: Vault, caller: Party, holder: Holder, held_id: str) -> Listed:
    keyed = holder.read(session, vault, caller, held_id)
    statement = select(Document).where(getattr(Document, holder.column) == keyed.held.id).order_by(Document.created_at, Document.id)
    return Listed(list(session.execute(statement).scalars()), keyed.data_key)


def get_document(session: Session, vault: Vault, caller: Party, holder: Holder, held_id: str, document_id: str) -> Listed:
    keyed = holder.read(session, vault, caller, held_id)
    document = session.get(Document, document_id)
    if document is None or holder.of(document) != keyed.held.id:
        raise ProblemError("not-found", f"no such document on this {holder.what}")
    return Listed([document], keyed.data_key)


@dataclass(frozen=True)
class Readable:
    """What a download needs once the database session is closed."""

    document: Document
    data_key: bytes


def readable(session: Session, vault: Vault, caller: Party, holder: Holder, held_id: str, document_id: str) -> Readable:
    found = get_document(session, vault, caller, holder, held_id, document_id)
    document = found.documents[0]
    key = found.data_key if document.erased_at is None else None
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

