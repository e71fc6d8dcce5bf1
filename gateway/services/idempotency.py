"""Idempotent POSTs (IETF httpapi `Idempotency-Key` draft).

A key is claimed in its own short transaction before the work starts, so a concurrent retry
sees it in flight (409). The stored response is written in the *same* transaction as the work,
so a request is either done and replayable, or not done at all. A claim whose worker died is
taken over once its lease expires.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.problems import ProblemError
from gateway.storage.models import IdempotencyRecord
from gateway.services.vault import Vault, reply_context
from gateway.storage.upsert import insert_ignore

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Claim:
    institution_id: str
    key: str
    fingerprint: str


def parse_key(raw: str) -> str:
    """Accept the draft's sf-string form (`"abc"`) and the common bare form (`abc`)."""
    key = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    if not key or len(key) > MAX_KEY_LENGTH or not all(0x20 < ord(ch) < 0x7F for ch in key):
        raise ProblemError("idempotency-key-invalid", f"use 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def claim(session: Session, vault: Vault, institution_id: str, key: str, request_fingerprint: str, lease_seconds: int) -> Claim | StoredResponse:
    """Claim the key, or return the response stored by the first request with it."""
    now = datetime.now(UTC)
    lease = now + timedelta(seconds=lease_seconds)
    ours = insert_ignore(
        session,
        IdempotencyRecord,
        [{"institution_id": institution_id, "key": key, "fingerprint": request_fingerprint, "lease_until": lease, "created_at": now}],
    )
    record = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.institution_id == institution_id, IdempotencyRecord.key == key).with_for_update()
    ).scalar_one()
    if record.fingerprint != request_fingerprint:
        raise ProblemError("idempotency-key-reused", "this key was first used with another request")
    if record.status_code is not None:
        return StoredResponse(record.status_code, dict(record.response_headers or {}), vault.open_reply(record.response_body, reply_context(record)))
    if not ours:
        if record.lease_until is not None and record.lease_until > now:
            raise ProblemError("idempotency-in-flight", "retry once the first request has finished", headers={"Retry-After": "1"})
        record.lease_until = lease  # the first worker died: take over
    return Claim(institution_id, key, request_fingerprint)


def complete(session: Session, vault: Vault, claim: Claim, response: StoredResponse) -> None:
    sealed = vault.seal_reply(response.body, reply_context(claim))
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.institution_id == claim.institution_id, IdempotencyRecord.key == claim.key)
        .values(status_code=response.status_code, response_headers=response.headers, response_body=sealed, lease_until=None)
    )


def release(session: Session, claim: Claim) -> None:
    """Forget an unfinished claim so that a retry runs the request again."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.institution_id == claim.institution_id,
            IdempotencyRecord.key == claim.key,
            IdempotencyRecord.status_code.is_(None),
        )
    )
