"""What the sync and async clients share: every operation, defined once as a `Call`, and how an
answer is checked (problems become exceptions, receipts are verified against the pinned trust roots).

A client only supplies `_run(call)`: the sync one returns the result, the async one a coroutine."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from imr_alomrane_gateway_client.errors import DocumentCorrupted, GatewayError, LedgerInconsistent, ReceiptInvalid, UnknownGatewayKey, error_for
from imr_alomrane_gateway_client.contract.cases import CaseCreate, CaseDetail, CaseSummary, MessageCreate, MessageOut, TransferCreate
from imr_alomrane_gateway_client.contract.common import Page, Problem
from imr_alomrane_gateway_client.contract.documents import DocumentOut
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.contract.inbox import InboxEventOut
from imr_alomrane_gateway_client.contract.institutions import InstitutionOut, UnitOut
from imr_alomrane_gateway_client.contract.keys import KeyHistoryOut
from imr_alomrane_gateway_client.contract.receipts import ReceiptOut
from imr_alomrane_gateway_client.contract.thematic import (
    ThematicFileCreate,
    ThematicFileDetail,
    ThematicFileSummary,
    ThematicMessageCreate,
    ThematicMessageOut,
)
from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, open_checkpoint
from imr_alomrane_gateway_client.ledger.entry import Entry
from imr_alomrane_gateway_client.signing import (
    RECEIPT_HEADER,
    SIGNATURE_HEADER,
    CompactJws,
    SignatureRejected,
    content_digest,
    sha256_field,
    verify_receipt,
)
from imr_alomrane_gateway_client.trust import FIRST_USE_PATH, TrustRoots

T = TypeVar("T")
RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Receipt:
    token: str
    claims: dict[str, Any]
    replayed: bool = False  # stored for an earlier attempt with the same Idempotency-Key, not one of this client's

    @property
    def id(self) -> str:
        return self.claims["rid"]


@dataclass(frozen=True)
class Accepted(Generic[T]):
    """What a write returns: the resource, and the gateway's signed receipt for it, verified. The
    write stands whatever comes after: a later step that failed is `deferred`, never raised."""

    value: T
    receipt: Receipt
    deferred: Exception | None = None  # why the ledger this receipt shows is not yet proven to extend the one seen before

    @property
    def consistent(self) -> bool:
        """Whether the receipt's checkpoint is proven consistent with every one this client saw
        (if not, `deferred` says why; `check_consistency()` tries again)."""
        return self.deferred is None


CHUNK_BYTES = 256 * 1024


class Upload:
    """A document to send as a stream: bytes in memory, or a file read twice (once for its digest,
    once while sending), never held whole. Each attempt re-reads it from the start."""

    def __init__(self, source: bytes | Path) -> None:
        self.source = source
        sha = hashlib.sha256()
        for chunk in self._chunks():
            sha.update(chunk)
        self.digest = sha256_field(sha.digest())
        self.size = len(source) if isinstance(source, bytes) else source.stat().st_size

    def _chunks(self) -> Iterator[bytes]:
        if isinstance(self.source, bytes):
            yield self.source
            return
        with open(self.source, "rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk

    async def _async_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():  # local disk reads of CHUNK_BYTES: short enough not to matter
            yield chunk

    def content(self, client: httpx.Client | httpx.AsyncClient) -> Iterable[bytes] | AsyncIterable[bytes]:
        return self._async_chunks() if isinstance(client, httpx.AsyncClient) else self._chunks()


@dataclass
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    body: BaseModel | Upload | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    waits: float = 0  # how long the gateway may hold the answer (an inbox long poll): added to the read timeout

    @property
    def is_write(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}

    def request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        params = {name: value for name, value in self.params.items() if value is not None}
        if isinstance(self.body, Upload):
            headers = {**self.headers, "Content-Type": "application/octet-stream", "Content-Digest": self.body.digest,
                       "Content-Length": str(self.body.size)}
            return client.build_request(self.method, self.path, params=params, content=self.body.content(client), headers=headers)
        content = self.body.model_dump_json(exclude_none=True).encode() if self.body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if content is not None else {})}
        timeout = client.timeout
        if self.waits:
            timeout = httpx.Timeout(timeout.connect, read=(timeout.read or 0) + self.waits, write=timeout.write, pool=timeout.pool)
        return client.build_request(self.method, self.path, params=params, content=content, headers=headers, timeout=timeout)


def _model(model: type[T]) -> Callable[[Any], T]:
    adapter = TypeAdapter(model)
    return adapter.validate_python


def backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> float:
    """Exponential backoff with full jitter (seconds before attempt `attempt + 1`)."""
    return random.uniform(0, min(cap, base * 2**attempt))


def retry_delay(outcome: Outcome, attempt: int, max_retry_after: float) -> float:
    """What the gateway asks for (`Retry-After` in seconds, with a 503 or 429), at most
    `max_retry_after`; otherwise the backoff."""
    asked = outcome.headers.get("Retry-After") if isinstance(outcome, httpx.Response) else None
    if asked is not None and asked.strip().isdigit():
        return min(float(asked), max_retry_after)
    return backoff(attempt)


class Operations:
    """The gateway's API v1, one method per operation. A client provides `_drive(steps)`, which
    performs a conversation's requests (blocking or async); `_run(call)` is one call's conversation."""

    unit_id: str  # the unit whose certificate and key the client uses (an institution id: its head office)
    gateway_id: str
    http: httpx.Client | httpx.AsyncClient
    receipts: ReceiptChecker
    retries: int
    max_retry_after: float

    def _drive(self, steps: Steps) -> Any:  # provided by the clients
        raise NotImplementedError

    def _run(self, call: Call[Any]) -> Any:
        return self._drive(conversation(call, self.http, self.receipts, self.retries, self.max_retry_after))

    def check_consistency(self):
        """Prove that every checkpoint a receipt showed and no proof linked yet (what a write's
        `deferred` left open) is consistent with the latest one proven; raises LedgerInconsistent if
        one is not, or the transport error if the gateway cannot be reached. Returns the checkpoint now trusted."""
        return self._drive(consistency_check(self.http, self.receipts))

    def audit_entries(self, start: int = 0, end: int | None = None):
        """Re-check the ledger entries this institution can read against the latest checkpoint it
        trusts: each entry's leaf must be included in that tree. Returns how many were checked;
        raises LedgerInconsistent naming the first entry that was changed."""
        return self._drive(entries_audit(self.http, self.receipts, start, end))

    def me(self):
        return self._run(Call("GET", "/v1/me", _model(InstitutionOut)))

    def open_case(self, payload: CaseCreate, *, idempotency_key: str | None = None):
        return self._run(Call("POST", "/v1/cases", _model(CaseDetail), body=payload, headers=_idempotent(idempotency_key)))

    def get_case(self, case_id: str):
        return self._run(Call("GET", f"/v1/cases/{case_id}", _model(CaseDetail)))

    def cases_page(self, *, cursor: str | None = None, limit: int | None = None, **filters: Any):
        params = {"cursor": cursor, "limit": limit, **{k: _query(v) for k, v in filters.items()}}
        return self._run(Call("GET", "/v1/cases", _model(Page[CaseSummary]), params=params))

    def transfer(self, case_id: str, unit: str, *, idempotency_key: str | None = None):
        """Move a case you hold (or your head office's) to another unit of your institution."""
        return self._run(Call("POST", f"/v1/cases/{case_id}/transfer", _model(CaseSummary), body=TransferCreate(unit=unit),
                              headers=_idempotent(idempotency_key)))

    def units(self):
        return self._run(Call("GET", "/v1/units", _model(list[UnitOut])))

    def send_message(self, case_id: str, payload: MessageCreate, *, if_match: str | None = None, idempotency_key: str | None = None):
        headers = {**_idempotent(idempotency_key), **({"If-Match": if_match} if if_match else {})}
        return self._run(Call("POST", f"/v1/cases/{case_id}/messages", _model(MessageOut), body=payload, headers=headers))

    def upload_document(self, case_id: str, source: bytes | Path, filename: str | None = None, *, idempotency_key: str | None = None):
        """Attach a document (bytes, or a file streamed from disk); `filename` defaults to the file's name."""
        return self._run(_upload(f"/v1/cases/{case_id}/documents", source, filename, idempotency_key))

    def documents(self, case_id: str):
        return self._run(Call("GET", f"/v1/cases/{case_id}/documents", _model(list[DocumentOut])))

    def upload_thematic_document(self, file_id: str, source: bytes | Path, filename: str | None = None, *,
                                 idempotency_key: str | None = None):
        """Attach a document to a thematic file, as `upload_document` does to a case."""
        return self._run(_upload(f"/v1/thematic-files/{file_id}/documents", source, filename, idempotency_key))

    def thematic_documents(self, file_id: str):
        return self._run(Call("GET", f"/v1/thematic-files/{file_id}/documents", _model(list[DocumentOut])))

    def open_thematic_file(self, payload: ThematicFileCreate, *, idempotency_key: str | None = None):
        """Open a joint review with the other party (the mediator names the respondent, a respondent the mediator)."""
        return self._run(Call("POST", "/v1/thematic-files", _model(ThematicFileDetail), body=payload, headers=_idempotent(idempotency_key)))

    def thematic_file(self, file_id: str):
        return self._run(Call("GET", f"/v1/thematic-files/{file_id}", _model(ThematicFileDetail)))

    def thematic_files_page(self, *, cursor: str | None = None, limit: int | None = None, **filters: Any):
        """Filters: status, overdue, project (its name), region, unit."""
        params = {"cursor": cursor, "limit": limit, **{k: _query(v) for k, v in filters.items()}}
        return self._run(Call("GET", "/v1/thematic-files", _model(Page[ThematicFileSummary]), params=params))

    def send_thematic_message(self, file_id: str, payload: ThematicMessageCreate, *, idempotency_key: str | None = None):
        return self._run(Call("POST", f"/v1/thematic-files/{file_id}/messages", _model(ThematicMessageOut), body=payload,
                              headers=_idempotent(idempotency_key)))

    def link_case(self, file_id: str, case_id: str, *, idempotency_key: str | None = None):
        return self._run(Call("PUT", f"/v1/thematic-files/{file_id}/cases/{case_id}", _model(ThematicFileDetail),
                              headers=_idempotent(idempotency_key)))

    def unlink_case(self, file_id: str, case_id: str, *, idempotency_key: str | None = None):
        return self._run(Call("DELETE", f"/v1/thematic-files/{file_id}/cases/{case_id}", _model(ThematicFileDetail),
                              headers=_idempotent(idempotency_key)))

    def inbox_page(self, *, cursor: str | None = None, limit: int | None = None, unit: str | None = None, wait: int | None = None):
        """Your unit's inbox, or (a head office) the inbox of one of its units, after `cursor` (a
        `next_cursor`, or the seq of the last event processed); waiting up to `wait` seconds for one."""
        params = {"cursor": cursor, "limit": limit, "unit": unit, "wait": wait}
        return self._run(Call("GET", "/v1/inbox", _model(Page[InboxEventOut]), params=params, waits=wait or 0))

    def ack(self, event_id: str):
        return self._run(Call("POST", f"/v1/inbox/{event_id}/ack", _model(InboxEventOut), headers=_idempotent(None)))

    def receipt(self, receipt_id: str):
        return self._run(Call("GET", f"/v1/receipts/{receipt_id}", _model(ReceiptOut)))

    def receipts_for(self, resource: str):
        return self._run(Call("GET", "/v1/receipts", _model(list[ReceiptOut]), params={"resource": resource}))

    def jwks(self):
        return self._run(Call("GET", "/.well-known/jwks.json", lambda document: document))

    def key_history(self):
        """Every key the gateway ever published (GET /v1/keys/history): what to review, then pin as `receipt_keys`."""
        return self._run(Call("GET", "/v1/keys/history", _model(KeyHistoryOut)))


def inbox_resume(page: Page[InboxEventOut], cursor: str | None) -> str | None:
    """Where to read the inbox next, after `page` (read at `cursor`): its `next_cursor` while more
    are waiting, else the seq of its last event (the gateway takes either), else `cursor` again."""
    if page.next_cursor is not None:
        return page.next_cursor
    return str(page.items[-1].seq) if page.items else cursor


def _upload(path: str, source: bytes | Path, filename: str | None, idempotency_key: str | None) -> Call[DocumentOut]:
    name = filename or (source.name if isinstance(source, Path) else None)
    if not name:
        raise ValueError("a document sent from memory needs a filename")
    headers = {**_idempotent(idempotency_key), "Content-Disposition": attachment_header(name)}
    return Call("POST", path, _model(DocumentOut), body=Upload(source), headers=headers)


def _idempotent(key: str | None) -> dict[str, str]:
    """Every write gets an Idempotency-Key, so that retrying it is always safe."""
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def _query(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    return value.isoformat() if hasattr(value, "isoformat") else value


class DownloadCheck:
    """Checks a streamed download against the digest the gateway announced (`Content-Digest`: of
    the bytes in this response, whole document or range)."""

    def __init__(self, response: httpx.Response) -> None:
        self.expected = response.headers.get("Content-Digest")
        self.size = 0
        self._sha = hashlib.sha256()

    def feed(self, chunk: bytes) -> bytes:
        self._sha.update(chunk)
        self.size += len(chunk)
        return chunk

    def verify(self) -> str:
        digest = sha256_field(self._sha.digest())
        if self.expected != digest:
            raise DocumentCorrupted(f"the bytes received hash to {digest}, the gateway announced {self.expected}")
        return digest


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    digest: str  # of the bytes written (the whole document, or the range asked for)
    media_type: str
    partial: bool  # a range (206) rather than the whole document


@contextmanager
def staged_file(destination: Path) -> Iterator[BinaryIO]:
    """Write beside `destination` and rename into place only on success: a failed or corrupted
    download never leaves a file that looks complete."""
    partial = destination.with_name(f".{destination.name}.part")
    try:
        with open(partial, "wb") as out:
            yield out
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)


def downloaded(destination: Path, response: httpx.Response, check: DownloadCheck) -> Downloaded:
    return Downloaded(destination, check.size, check.verify(), response.headers.get("Content-Type", ""), response.status_code == 206)


def download_request(http: httpx.Client | httpx.AsyncClient, case_id: str, document_id: str, start: int | None, end: int | None) -> httpx.Request:
    """`start`/`end` (inclusive, as in HTTP) ask for a range."""
    headers = {}
    if start is not None or end is not None:
        headers["Range"] = f"bytes={'' if start is None else start}-{'' if end is None else end}"
    return http.build_request("GET", f"/v1/cases/{case_id}/documents/{document_id}/content", headers=headers)


def raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        problem = Problem.model_validate(response.json())
    except (ValueError, json.JSONDecodeError):
        problem = Problem(type="about:blank", title=response.reason_phrase or "error", status=response.status_code)
    raise error_for(problem)


def should_retry(outcome: httpx.Response | Exception) -> bool:
    if isinstance(outcome, httpx.TransportError):
        return True
    if isinstance(outcome, httpx.Response):
        in_flight = outcome.status_code == 409 and "idempotency-in-flight" in outcome.text
        return outcome.status_code in RETRYABLE_STATUS or in_flight
    return False


class ReceiptChecker:
    """Verifies receipts against the pinned trust roots (TrustRoots), and the ledger proof they
    carry; remembers the latest checkpoint proven consistent, and those receipts showed that are still to prove."""

    def __init__(self, gateway_id: str, unit_id: str, trust: TrustRoots) -> None:
        self.gateway_id, self.unit_id, self.trust = gateway_id, unit_id, trust
        self.latest: Checkpoint | None = None
        self.pending: list[Checkpoint] = []  # seen in receipts, not yet proven consistent with `latest`

    def knows_key(self, token: str) -> bool:
        """Whether a pinned key is the one the receipt names, reading the pins again if not (a file
        may announce a new key now). A receipt that is not canonical is let through: verifying it
        says why it is refused."""
        try:
            parsed = CompactJws.parse(token)
        except ValueError:
            return True
        if parsed.key_from(self.trust.receipts) is None:
            self.trust.reload()
        return parsed.key_from(self.trust.receipts) is not None

    def ledger_claim(self, receipt: Receipt, body_digest: str) -> Checkpoint:
        """Check the receipt's ledger entry is this request, included in a checkpoint the pinned key signed."""
        claim = receipt.claims.get("ledger")
        if not isinstance(claim, dict):
            raise ReceiptInvalid("the receipt carries no ledger proof")
        try:
            entry = Entry.from_dict(claim["entry"])
            checkpoint = self.opened(claim["checkpoint"])
            proof = [base64.b64decode(node) for node in claim["inclusion"]]
            merkle.verify_inclusion(entry.leaf_hash(), claim["index"], checkpoint.size, proof, checkpoint.root_hash)
        except (KeyError, TypeError, ValueError) as exc:
            raise ReceiptInvalid(f"the receipt's ledger proof does not verify: {exc}") from exc
        if entry.payload_digest != body_digest or entry.signature_digest != receipt.claims.get("sig_dig"):
            raise ReceiptInvalid("the ledger entry is not this request")
        return checkpoint

    def opened(self, note: str) -> Checkpoint:
        """A checkpoint signed with the pinned verifier key (read again once if it does not verify:
        the key is the log's identity, which changes only when the pin does)."""
        try:
            return open_checkpoint(note, self.trust.log)
        except ValueError:
            self.trust.reload()
            return open_checkpoint(note, self.trust.log)

    def consistency_needed(self, checkpoint: Checkpoint) -> tuple[int, int] | None:
        """The (first, second) sizes to prove, if this checkpoint is not the one last proven."""
        if self.latest is None or checkpoint.size == self.latest.size:
            if self.latest is not None and checkpoint.root_hash != self.latest.root_hash:
                raise LedgerInconsistent(f"two different roots for tree size {checkpoint.size}")
            self.latest = self.latest or checkpoint
            return None
        if checkpoint not in self.pending:
            self.pending.append(checkpoint)
        return tuple(sorted((self.latest.size, checkpoint.size)))  # type: ignore[return-value]

    def accept_consistency(self, checkpoint: Checkpoint, proof_document: dict[str, Any]) -> None:
        older, newer = sorted((self.latest, checkpoint), key=lambda c: c.size)
        try:
            proof = [base64.b64decode(node) for node in proof_document["proof"]]
            merkle.verify_consistency(older.size, newer.size, proof, older.root_hash, newer.root_hash)
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerInconsistent(f"checkpoint {checkpoint.size} does not extend checkpoint {self.latest.size}: {exc}") from exc
        self.latest = newer
        self.pending = [unproven for unproven in self.pending if unproven not in (older, newer)]

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a receipt (also one fetched later, GET /v1/receipts/…), if a pinned gateway
        key signed it while the pinned key history still trusted that key."""
        if not self.knows_key(token):
            kid = CompactJws.parse(token).header.get("kid")
            raise UnknownGatewayKey(f"the receipt is signed with key {kid!r}, which the pinned key history does not announce: "
                                    "pin the key history the gateway's operators publish (GET /v1/keys/history)")
        try:
            claims = verify_receipt(token, self.trust.receipts, self.gateway_id)
        except (SignatureRejected, ValueError) as exc:
            raise ReceiptInvalid(f"the receipt does not verify: {exc}") from exc
        key = CompactJws.parse(token).key_from(self.trust.receipts)
        if key.revoked or (key.not_after and not (isinstance(claims.get("iat"), int) and claims["iat"] <= key.not_after.timestamp())):
            raise ReceiptInvalid(f"the receipt is signed with key {key.kid!r}, which the pinned key history no longer trusted then")
        return claims

    def check(self, response: httpx.Response, signatures_sent: list[str]) -> Receipt:
        """The receipt of this request: for this unit, body, method and path. It covers one of the
        signatures this client sent, or else (a retry whose first attempt another process made) it is
        the receipt the gateway stored for this Idempotency-Key, which it replays only for this body."""
        token = response.headers.get(RECEIPT_HEADER)
        if not token:
            raise ReceiptInvalid("the gateway accepted the write but sent no receipt")
        claims = self.verify(token)
        request = response.request
        if claims.get("sub") != self.unit_id or claims.get("req_dig") != request.headers.get("Content-Digest"):
            raise ReceiptInvalid("the receipt is not for this request")
        if claims.get("htm") != request.method or claims.get("htu") != request.url.raw_path.decode("ascii"):
            raise ReceiptInvalid("the receipt names another method or path")
        covered = claims.get("sig_dig") in {content_digest(signature.encode()) for signature in signatures_sent}
        if not covered and not request.headers.get("Idempotency-Key"):
            raise ReceiptInvalid("the receipt does not cover the signature this client sent")
        return Receipt(token, claims, replayed=not covered)


@dataclass(frozen=True)
class Sleep:
    seconds: float


Outcome = httpx.Response | httpx.TransportError
Steps = Generator[httpx.Request | Sleep, Outcome | None, Any]


def _get(http, path: str, **params: Any) -> httpx.Request:
    return http.build_request("GET", path, params={k: v for k, v in params.items() if v is not None})


def _answer(outcome: Outcome | None) -> Any:
    if isinstance(outcome, Exception):
        raise outcome
    raise_for_problem(outcome)
    return outcome.json()


def first_use(http, checker: ReceiptChecker) -> Steps:
    """Pin the gateway's keys as it serves them now, if this client was told to trust on first use
    and has not yet: before a write is sent, so that a failure here is not an accepted write's."""
    if checker.trust.first_use_pending:
        checker.trust.first_use(_answer((yield _get(http, FIRST_USE_PATH))))


def entries_audit(http, checker: ReceiptChecker, start: int, end: int | None) -> Steps:
    yield from first_use(http, checker)
    if checker.latest is None:
        checker.latest = checker.opened(_answer((yield _get(http, "/v1/ledger/checkpoint")))["note"])
    trusted = checker.latest
    entries = _answer((yield _get(http, "/v1/ledger/entries", start=start, end=min(end or trusted.size, trusted.size))))
    for item in entries:
        leaf = Entry.from_dict(item["entry"]).leaf_hash()
        proof = _answer((yield _get(http, "/v1/ledger/proof/inclusion", index=item["index"], size=trusted.size)))["proof"]
        try:
            merkle.verify_inclusion(leaf, item["index"], trusted.size, [base64.b64decode(p) for p in proof], trusted.root_hash)
        except ValueError as exc:
            raise LedgerInconsistent(f"entry {item['index']} is not what checkpoint {trusted.size} committed to: {exc}") from exc
    return len(entries)


def consistency(http, checker: ReceiptChecker, checkpoint: Checkpoint) -> Steps:
    """Prove `checkpoint` extends (or is extended by) the latest one proven; raises what went wrong."""
    sizes = checker.consistency_needed(checkpoint)
    if sizes is None:
        return
    proof = yield _get(http, "/v1/ledger/proof/consistency", first=sizes[0], second=sizes[1])
    if isinstance(proof, Exception):
        raise proof
    if not proof.is_success:  # the gateway cannot link what this client saw to what it shows now
        raise LedgerInconsistent(f"no consistency proof between tree sizes {sizes[0]} and {sizes[1]} ({proof.status_code})")
    checker.accept_consistency(checkpoint, proof.json())


def consistency_check(http, checker: ReceiptChecker) -> Steps:
    for unproven in list(checker.pending):
        yield from consistency(http, checker, unproven)
    return checker.latest


def conversation(call: Call[Any], http: httpx.Client | httpx.AsyncClient, checker: ReceiptChecker, retries: int,
                 max_retry_after: float) -> Steps:
    """The whole exchange for one call, without I/O: it yields requests to send (and pauses), and
    receives what came back. Writes always carry an Idempotency-Key, so every retry is safe; each
    attempt is signed afresh (new jti), and the receipt may cover any attempt's signature, or an
    earlier process's (the gateway replays the receipt it stored for the key). Once the receipt
    verifies, the write is accepted: the consistency proof that follows can only be deferred."""
    if call.is_write:
        yield from first_use(http, checker)
    signatures: list[str] = []
    attempt = 0
    while True:
        request = call.request(http)
        outcome = yield request
        if request.headers.get(SIGNATURE_HEADER):
            signatures.append(request.headers[SIGNATURE_HEADER])
        if attempt < retries and should_retry(outcome):
            yield Sleep(retry_delay(outcome, attempt, max_retry_after))
            attempt += 1
            continue
        break
    if isinstance(outcome, Exception):
        raise outcome
    raise_for_problem(outcome)
    value = call.parse(outcome.json())
    if not call.is_write:
        return value
    receipt = checker.check(outcome, signatures)
    checkpoint = checker.ledger_claim(receipt, outcome.request.headers["Content-Digest"])
    try:
        yield from consistency(http, checker, checkpoint)
    except (LedgerInconsistent, GatewayError, httpx.TransportError) as deferred:
        return Accepted(value, receipt, deferred)
    return Accepted(value, receipt)
