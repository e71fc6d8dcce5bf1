"""Accepting a write: the one place where a signed request becomes a committed exchange event.

A write is one transaction. Its statements take their locks in this order, on both engines, and
nothing takes them in another:

1. the idempotency record (a retry with the same key waits here for the first, then replays it);
2. the request's `jti` (single use);
3. the work: a service locks the one row it changes (a case or a thematic file `FOR NO KEY
   UPDATE`, so that the foreign keys of the rows inserted after it never wait for it; or an inbox
   event) and writes; a link of a case to a thematic file locks the file and only reads the case;
4. the inbox events: the recipients' counters, in name order;
5. the ledger entry: the ledger counter, taken last, so it is held only from here to the commit;
6. the signed receipt and the stored answer; then the commit.

A transaction that still loses a race (a deadlock, a serialization failure) is run again, a
bounded number of times; a storage fault answers 503 `storage-unavailable` with `Retry-After`.
Nothing that did not commit ever gets a receipt.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial

from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway.domain.party import Party
from gateway.domain.events import LedgerEvent, Side
from imr_alomrane_gateway_client.vocabulary import InboxEventKind
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.ledger.store import Appended, NewEntry
from gateway.problems import ProblemError
from gateway.runtime import Runtime
from imr_alomrane_gateway_client.signing import RECEIPT_HEADER, Evidence, VerifiedRequest, content_digest
from gateway.services import idempotency, inbox, nonces, receipts
from gateway.storage import faults
from gateway.storage.models import Case, Message, ThematicFile, ThematicMessage

# Refusals that say nothing about the request itself: its jti is not spent by them.
_NOT_SPENT = frozenset({"idempotency-in-flight", "idempotency-key-reused", "signature-replayed", "storage-unavailable"})


@dataclass(frozen=True)
class SignedWrite:
    """What the edge verified about a write before any transaction: who, what, and the evidence."""

    caller: Party
    method: str
    target: str  # path with query, as signed
    signed: VerifiedRequest
    body: bytes | None  # None for a streamed body, checked against `body_digest` as it arrives
    body_digest: str
    key: idempotency.Key | None

    @property
    def evidence(self) -> Evidence | None:
        return Evidence(self.signed.token, self.body.decode("utf-8", errors="replace")) if self.body is not None else None


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: BaseModel
    headers: dict[str, str] = field(default_factory=dict)


class WriteUnit:
    """What a write service works with: the transaction, who writes with what evidence, and what
    the write did (inbox events to publish, at most one ledger event)."""

    def __init__(self, session: Session, write: SignedWrite, runtime: Runtime) -> None:
        self.session, self.runtime = session, runtime
        self.caller, self.evidence, self.signature = write.caller, write.evidence, write.signed.token
        self.vault, self.keys = runtime.vault, runtime.keys
        self.notices: list[inbox.Notice] = []
        self.event: LedgerEvent | None = None
        self.repeat_of: str | None = None
        self.after_commit: list[Callable[[], None]] = []

    def publish(self, recipient: Side, kind: InboxEventKind, case: Case | ThematicFile,
                message: Message | ThematicMessage | None = None) -> None:
        """An inbox event about a case or a thematic file (and one of its messages)."""
        self.notices.append(inbox.Notice(recipient, kind, case.id, message.id if message else None, case.status, case.thematic))

    def record(self, event: LedgerEvent) -> None:
        if self.event is not None:
            raise RuntimeError("a write records one ledger event")
        self.event = event

    def repeated(self, resource: str) -> None:
        """This write repeats one already accepted (and changes nothing): answer with its receipt."""
        self.repeat_of = resource


class Exchange:
    """One signed write, ready to run in its transaction."""

    def __init__(self, runtime: Runtime, write: SignedWrite) -> None:
        self.runtime, self.write = runtime, write

    async def run(self, work: Callable[[WriteUnit], Answer]) -> Response:
        """Run `work` and accept what it did, all in one transaction (on the runtime's writer); then
        what was to follow the commit (removing an erased case's blobs)."""
        response, unit = await self.runtime.writer.run(partial(self._accepted, work))
        if unit is not None and unit.after_commit:
            await run_in_threadpool(_run_all, unit.after_commit)
        return response

    def _accepted(self, work: Callable[[WriteUnit], Answer]) -> tuple[Response, WriteUnit | None]:
        """The transaction, run again if it lost a race; a storage fault becomes a 503."""
        settings = self.runtime.settings
        for attempt in range(1, settings.write_attempts + 1):
            try:
                stored, unit, appended = self._transaction(work)
            except ProblemError as refused:
                if refused.problem_type.slug not in _NOT_SPENT:
                    self._spend_jti()
                raise
            except (DBAPIError, OSError) as error:
                if faults.is_conflict(error) and attempt < settings.write_attempts:
                    time.sleep(random.uniform(0, 0.01 * 2**attempt))
                    continue
                if faults.is_conflict(error) or faults.is_unavailable(error):
                    raise storage_unavailable(settings.storage_retry_after_seconds) from error
                raise
            if appended is not None:
                self.runtime.ledger.committed(appended)
            if unit is not None and unit.notices:
                self.runtime.inbox_signals.committed(notice.recipient.unit_id for notice in unit.notices)
            return Response(stored.body, status_code=stored.status_code, headers=stored.headers, media_type="application/json"), unit
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _transaction(self, work: Callable[[WriteUnit], Answer]) -> tuple[idempotency.StoredResponse, WriteUnit | None, Appended | None]:
        write, runtime = self.write, self.runtime
        keyed = runtime.metrics.idempotency_in_flight.track_inprogress() if write.key is not None else nullcontext()
        with keyed, runtime.database.session(write=True) as session:
            session.connection()  # begin now: SQLite's wait for its write lock is not a wait for the key
            if write.key is not None:
                replay = idempotency.begin(session, runtime.vault, write.key)
                if replay is not None:
                    return replay, None, None
            nonces.consume(session, write.caller.id, write.signed.jti, runtime.settings.signature_max_skew_seconds)
            unit = WriteUnit(session, write, runtime)
            answer = work(unit)
            session.flush()
            inbox.deliver(session, unit.notices)
            appended, evidence = self._evidence_of(unit)
            headers = {**answer.headers, **evidence}
            stored = idempotency.StoredResponse(answer.status_code, headers, answer.content.model_dump_json())
            if write.key is not None:
                idempotency.complete(session, runtime.vault, write.key, stored)
            session.commit()
        return stored, unit, appended

    def _evidence_of(self, unit: WriteUnit) -> tuple[Appended | None, dict[str, str]]:
        """The receipt headers: a new receipt for a ledger event, the first one for a repeat."""
        if unit.event is not None:
            return self._accept(unit.session, unit.event)
        if unit.repeat_of is not None:
            earlier = receipts.acceptance_of(unit.session, unit.repeat_of, self.write.caller.id)
            return None, receipt_headers(earlier) if earlier else {}
        return None, {}

    def _accept(self, session: Session, event: LedgerEvent) -> tuple[Appended, dict[str, str]]:
        write, keys = self.write, self.runtime.keys
        resource = event.location or write.target
        appended = self.runtime.ledger.append(session, NewEntry(
            kind=event.kind, detail=event.detail, sender=write.caller.id, sender_unit=write.caller.unit_id,
            recipient=event.counterpart.institution_id, recipient_unit=event.counterpart.unit_id, case=event.case_id,
            resource=resource, payload_digest=write.body_digest, signature_digest=content_digest(write.signed.token.encode()),
            region=event.region, due=event.due and timestamp(event.due), refers=event.refers,
        ))
        receipt = receipts.issue(
            session, keys, kind=receipts.ACCEPTANCE, case_id=event.case_id, thematic=event.thematic, resource=resource,
            sender_id=write.caller.id, counterpart_id=event.counterpart.institution_id, signature=write.signed.token,
            sub=write.caller.unit_id, htm=write.method, htu=write.target, req_dig=write.body_digest,
            ledger=appended.proof_claim(),
        )
        headers = receipt_headers(receipt)
        if event.location:
            headers["Location"] = event.location
        return appended, headers

    def _spend_jti(self) -> None:
        """A refused request's signature is spent too, so it cannot be replayed later, when the
        case may have moved to a state that would accept it (best effort: the refusal stands)."""
        try:
            with self.runtime.database.session(write=True) as session:
                nonces.consume(session, self.write.caller.id, self.write.signed.jti, self.runtime.settings.signature_max_skew_seconds)
                session.commit()
        except (ProblemError, DBAPIError):
            pass


def _run_all(actions: list[Callable[[], None]]) -> None:
    for action in actions:
        action()


def receipt_headers(receipt) -> dict[str, str]:
    return {RECEIPT_HEADER: receipt.token, "Receipt-Location": f"/v1/receipts/{receipt.id}"}


def storage_unavailable(retry_after_seconds: int) -> ProblemError:
    return ProblemError(
        "storage-unavailable", "nothing was recorded: send the same request again shortly",
        headers={"Retry-After": str(retry_after_seconds)},
    )
