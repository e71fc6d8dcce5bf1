"""Idempotent writes (IETF httpapi `Idempotency-Key` draft).

The key's record is the first row a write inserts, in the write's own transaction, and its stored
answer the last: a key is either done, with its answer, or not there at all. So no two requests
with one key can both commit, however long either takes. A retry while the first request is still
in its transaction waits on the record's unique index (PostgreSQL) or on the write lock (SQLite)
and then replays the first answer; if the wait outlasts the lock timeout it is told 409
idempotency-in-flight. A request that failed rolled its record back with everything else: its key
is free again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from gateway.problems import ProblemError
from gateway.services.vault import Vault, reply_context
from gateway.storage import faults
from gateway.storage.models import IdempotencyRecord
from gateway.storage.upsert import insert_ignore

MAX_KEY_LENGTH = 255
# Marks an answer replayed from the key's record rather than produced now (IETF httpapi idempotency draft).
REPLAYED_HEADER = "Idempotent-Replayed"
_RECORDS = IdempotencyRecord.__table__
_THIS_KEY = (_RECORDS.c.institution_id == bindparam("institution"), _RECORDS.c.key == bindparam("record_key"))
_FIRST_ANSWER = select(_RECORDS.c.fingerprint, _RECORDS.c.status_code, _RECORDS.c.response_headers, _RECORDS.c.response_body).where(*_THIS_KEY)
_ANSWER = update(_RECORDS).where(*_THIS_KEY).values(
    status_code=bindparam("status"), response_headers=bindparam("headers", type_=_RECORDS.c.response_headers.type),
    response_body=bindparam("body"),
)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Key:
    institution_id: str
    key: str
    fingerprint: str


def parse_key(raw: str) -> str:
    """Accept the draft's sf-string form (`"abc"`) and the common bare form (`abc`)."""
    key = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    if not key or len(key) > MAX_KEY_LENGTH or not all(0x20 < ord(ch) < 0x7F for ch in key):
        raise ProblemError("idempotency-key-invalid", f"use 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    return key


def fingerprint(method: str, target: str, body_digest: str, signed_headers: Mapping[str, str]) -> str:
    """What makes two requests "the same request": method, target, body and every signed header
    (an upload's Content-Disposition names the file)."""
    parts = [method, target, body_digest, *(f"{name}:{value}" for name, value in sorted(signed_headers.items()))]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def begin(session: Session, vault: Vault, key: Key) -> StoredResponse | None:
    """Take the key for this transaction, or return the answer its first request committed, marked replayed."""
    try:
        ours = insert_ignore(session, IdempotencyRecord, [{
            "institution_id": key.institution_id, "key": key.key, "fingerprint": key.fingerprint, "created_at": datetime.now(UTC),
        }])
    except DBAPIError as error:
        if faults.is_lock_wait(error):
            raise ProblemError("idempotency-in-flight", "retry once the first request has finished", headers={"Retry-After": "1"}) from None
        raise
    if ours:
        return None
    record = session.connection().execute(_FIRST_ANSWER, {"institution": key.institution_id, "record_key": key.key}).one()
    if record.fingerprint != key.fingerprint:
        raise ProblemError("idempotency-key-reused", "this key was first used with another request")
    body = vault.open_reply(record.response_body, reply_context(key))
    return StoredResponse(record.status_code, {**(record.response_headers or {}), REPLAYED_HEADER: "true"}, body)


def complete(session: Session, vault: Vault, key: Key, response: StoredResponse) -> None:
    """Store the answer in the same transaction as the work it answers for."""
    session.connection().execute(_ANSWER, {
        "institution": key.institution_id, "record_key": key.key, "status": response.status_code, "headers": response.headers,
        "body": vault.seal_reply(response.body, reply_context(key)),
    })
