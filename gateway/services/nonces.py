"""Single use of signed requests: a `jti` is accepted once within the signature time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from gateway.problems import ProblemError
from gateway.storage.models import RequestNonce
from gateway.storage.upsert import insert_ignore


def consume(session: Session, institution_id: str, jti: str, window_seconds: int) -> None:
    """Record the jti, or refuse the request as a replay."""
    row = {"institution_id": institution_id, "jti": jti, "expires_at": datetime.now(UTC) + timedelta(seconds=2 * window_seconds)}
    if not insert_ignore(session, RequestNonce, [row]):
        raise ProblemError("signature-replayed", "this signed request (jti) was already received")


def purge_expired(session: Session) -> int:
    """Forget the ids past their window: outside it the timestamp check refuses a replay on its own.
    Run in the background (gateway.app), never on the write path."""
    return session.execute(delete(RequestNonce).where(RequestNonce.expires_at < datetime.now(UTC))).rowcount
