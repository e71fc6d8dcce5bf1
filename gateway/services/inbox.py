"""The inbox: events addressed to one institution, read in `seq` order and acknowledged on delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.vocabulary import InboxEventKind
from gateway.problems import ProblemError
from gateway.services.registry import inbox_sequence
from gateway.storage import sequences
from gateway.storage.models import Case, InboxEvent, Message


def publish(session: Session, recipient_id: str, kind: InboxEventKind, case: Case, message: Message | None = None) -> InboxEvent:
    """Queue an event for `recipient_id` in the caller's transaction.

    Its `seq` comes from a per-recipient counter that stays locked until commit, so events become
    visible in `seq` order and a reader resuming after N never skips one that commits late."""
    event = InboxEvent(
        id=str(uuid.uuid4()),
        recipient_id=recipient_id,
        seq=sequences.next_value(session, inbox_sequence(recipient_id)),
        kind=kind.value,
        case_id=case.id,
        message_id=message.id if message else None,
        status=case.status,
        created_at=datetime.now(UTC),
        delivered_at=None,
    )
    session.add(event)
    return event


def list_events(session: Session, recipient_id: str, after: int, limit: int) -> list[InboxEvent]:
    statement = (
        select(InboxEvent)
        .where(InboxEvent.recipient_id == recipient_id, InboxEvent.seq > after)
        .order_by(InboxEvent.seq)
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def acknowledge(session: Session, recipient_id: str, event_id: str) -> InboxEvent:
    """Record delivery; acknowledging twice keeps the first delivery time."""
    event = session.execute(
        select(InboxEvent).where(InboxEvent.id == event_id, InboxEvent.recipient_id == recipient_id).with_for_update()
    ).scalar_one_or_none()
    if event is None:
        raise ProblemError("not-found", "no such event in your inbox")
    if event.delivered_at is None:
        event.delivered_at = datetime.now(UTC)
    return event
