"""Documents of a case or a thematic file: streamed uploads (signed over their Content-Digest) and
ranged downloads. The same endpoints under each holder's path, built once by `documents_router`.

No postponed annotations here: each router's path parameter is named in an annotation built
when the router is."""

import hashlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CaseParty, RuntimeDep, SessionDep, SettingsDep, StreamedExchange, VaultDep
from gateway.api.ranges import ByteRange, parse_range
from gateway.api.responses import PROBLEM_RESPONSES
from gateway.config import Settings
from imr_alomrane_gateway_client.contract.documents import DocumentOut
from gateway.domain.documents import filename_from_disposition
from imr_alomrane_gateway_client.contract.documents import attachment_header
from gateway.domain.party import Party
from gateway.problems import ProblemError
from imr_alomrane_gateway_client.signing import sha256_field
from gateway.runtime import Runtime
from gateway.services import documents as service
from gateway.services.exchange import Answer, Exchange, WriteUnit
from gateway.services.vault import Vault
from gateway.storage.blobs import BlobStore, StagedBlob
from gateway.storage.models import Document


_BATCH_BYTES = 256 * 1024  # bytes handed to the worker thread at a time: hashing, encryption, disk
_UPLOAD_BODY = {
    "required": True,
    "description": "The document's bytes, as they are. Its type is read from the bytes themselves.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}

# A download is sent as the type detected from its bytes at upload (one of GATEWAY_DOCUMENT_TYPES).
_DOCUMENT_BYTES = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def _kept_name(disposition: str | None) -> str | None:
    """The name a kept header carries; None once erased, or for a header accepted before names were
    parsed strictly that the strict parser refuses (the header itself is still shown)."""
    if disposition is None:
        return None
    try:
        return filename_from_disposition(disposition)
    except ValueError:
        return None


def document_out(document: Document, disposition: str | None) -> DocumentOut:
    return DocumentOut(
        id=document.id, case_id=document.case_id, thematic_file_id=document.thematic_file_id, sender_id=document.sender_id,
        disposition=disposition,
        filename=_kept_name(disposition),
        media_type=document.media_type, size=document.size, digest=document.digest, created_at=document.created_at,
        erased=document.erased_at is not None, signature=document.signature,
        content=f"{service.document_location(document)}/content",
    )


def _described(listed: service.Listed) -> list[DocumentOut]:
    key = listed.data_key
    return [document_out(document, Vault.open_disposition(key, document) if key else None) for document in listed.documents]


def documents_router(prefix: str, parameter: str, holder: service.Holder) -> APIRouter:
    """The document endpoints under `prefix`, whose path parameter `parameter` names the holder."""
    router = APIRouter(prefix=prefix, tags=["documents"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)
    HeldId = Annotated[str, Path(alias=parameter)]

    @router.post(
        "",
        status_code=201,
        summary="Attach a document (streamed; signed over its Content-Digest)",
        response_model=DocumentOut,
        openapi_extra={"requestBody": _UPLOAD_BODY},
        responses={
            410: PROBLEM_RESPONSES[404] | {"description": "The case's personal data was erased: it takes no more documents"},
            415: PROBLEM_RESPONSES[413] | {"description": "Not an accepted type (detected from the bytes)"},
        },
    )
    async def upload_document(
        held_id: HeldId,
        request: Request,
        caller: CaseParty,
        exchange: StreamedExchange,
        settings: SettingsDep,
        runtime: RuntimeDep,
        content_disposition: Annotated[str, Header(max_length=2000, description=_DISPOSITION)],
    ) -> Response:
        """The body is the document. `Content-Digest: sha-256=:…:` is required and the request signature
        covers it: the bytes are hashed as they arrive, and a mismatch, a refused type or an excess
        over the size limit stores nothing. The file name travels in a header, so that it stays out of
        URLs and access logs."""
        return await _upload(holder, held_id, request, caller, exchange, settings, runtime, content_disposition)

    @router.get("", summary=f"The {holder.what}'s documents")
    def list_documents(held_id: HeldId, caller: CaseParty, session: SessionDep, vault: VaultDep) -> list[DocumentOut]:
        return _described(service.documents_of(session, vault, caller, holder, held_id))

    @router.get("/{document_id}", summary="One document's description")
    def get_document(held_id: HeldId, document_id: str, caller: CaseParty, session: SessionDep, vault: VaultDep) -> DocumentOut:
        return _described(service.get_document(session, vault, caller, holder, held_id, document_id))[0]

    @router.get(
        "/{document_id}/content",
        summary="Download a document (Range supported)",
        response_class=StreamingResponse,
        responses={
            200: {"description": "The document, as the type detected at upload", "content": _DOCUMENT_BYTES},
            206: {"description": "The requested range", "content": _DOCUMENT_BYTES},
            410: PROBLEM_RESPONSES[404] | {"description": "Erased with the case's personal data"},
            416: PROBLEM_RESPONSES[404] | {"description": "The range lies outside the document"},
        },
    )
    def download_document(
        held_id: HeldId,
        document_id: str,
        caller: CaseParty,
        session: SessionDep,
        runtime: RuntimeDep,
        range_header: Annotated[str | None, Header(alias="Range")] = None,
        if_range: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Streamed and decrypted one authenticated segment at a time. `Content-Digest` is the SHA-256
        of the bytes in this response (the whole document, or the range); `Repr-Digest` is always the
        whole document's (RFC 9530)."""
        readable = service.readable(session, runtime.vault, caller, holder, held_id, document_id)
        return _download(readable, session, runtime.blobs, range_header, if_range)

    return router


_DISPOSITION = ("The file name, kept exactly (Arabic, French…) and never used as a path: "
                "`attachment; filename*=UTF-8''<percent-encoded name>` (RFC 6266, RFC 8187). Signed (`hdr` claim).")


async def _upload(holder: service.Holder, held_id: str, request: Request, caller: Party, exchange: Exchange, settings: Settings,
                  runtime: Runtime, content_disposition: str) -> Response:
    try:
        filename_from_disposition(content_disposition)
    except ValueError as invalid:
        raise ProblemError("invalid-filename", str(invalid),
                           errors=[{"header": "content-disposition", "detail": str(invalid), "code": "filename"}]) from None
    blobs = runtime.blobs
    target = await run_in_threadpool(_prepare, runtime, caller, holder, held_id)
    staged = blobs.stage()
    try:
        sink = service.DocumentSink(target, staged, settings.max_document_bytes, settings.document_types)
        batch = bytearray()
        async for chunk in request.stream():
            batch += chunk
            if len(batch) >= _BATCH_BYTES:
                await run_in_threadpool(sink.write, bytes(batch))
                batch.clear()
        await run_in_threadpool(sink.write, bytes(batch))
        received = await run_in_threadpool(sink.finish)
        if received.digest != exchange.write.body_digest:
            raise ProblemError("content-digest-mismatch", "the SHA-256 of the bytes received is not the Content-Digest signed")
        return await _attach(exchange, blobs, staged, target, received, content_disposition)
    finally:
        staged.discard()  # after publication there is nothing left to discard


def _prepare(runtime: Runtime, caller: Party, holder: service.Holder, held_id: str) -> service.UploadTarget:
    with runtime.database.session(write=False) as session:
        return service.prepare(session, runtime.vault, caller, holder, held_id)


async def _attach(exchange: Exchange, blobs: BlobStore, staged: StagedBlob, target: service.UploadTarget,
                  received: service.Received, disposition: str) -> Response:
    """The bytes are published before the transaction: an accepted document always has them, and
    a document whose transaction fails has them removed (`gateway blobs collect` sweeps up after a crash)."""
    def work(unit: WriteUnit) -> Answer:
        return Answer(201, document_out(service.attach(unit, target, received, disposition), disposition))

    await run_in_threadpool(staged.publish, target.document_id)
    try:
        return await exchange.run(work)
    except BaseException:
        await run_in_threadpool(blobs.delete, target.document_id)
        raise


def _download(readable: service.Readable, session: Session, blobs: BlobStore, range_header: str | None,
              if_range: str | None) -> StreamingResponse:
    document = readable.document
    disposition = Vault.open_disposition(readable.data_key, document)
    filename = _kept_name(disposition) or document.id
    session.close()  # nothing more to read: do not hold a connection while streaming
    etag = f'"{document.id}"'
    wanted = parse_range(range_header, document.size) if range_header and if_range in (None, etag) else None
    headers = {
        "Accept-Ranges": "bytes", "ETag": etag, "Repr-Digest": document.digest, "X-Content-Type-Options": "nosniff",
        "Content-Disposition": attachment_header(filename), "Cache-Control": "private, no-store",
    }
    if wanted is None:
        part, status = ByteRange(0, document.size), 200
        headers["Content-Digest"] = document.digest
    else:
        part, status = wanted, 206
        headers["Content-Range"] = f"bytes {part.start}-{part.end - 1}/{document.size}"
        headers["Content-Digest"] = _digest(service.content(blobs, readable, part.start, part.end))
    headers["Content-Length"] = str(part.end - part.start)
    return StreamingResponse(
        service.content(blobs, readable, part.start, part.end), status_code=status, media_type=document.media_type, headers=headers
    )


def _digest(chunks: Iterator[bytes]) -> str:
    """A range's digest must be in the headers, before its bytes: it costs reading the range twice."""
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk)
    return sha256_field(sha.digest())


cases_router = documents_router("/cases/{case_id}/documents", "case_id", service.CASES)
thematic_files_router = documents_router("/thematic-files/{file_id}/documents", "file_id", service.THEMATIC_FILES)
