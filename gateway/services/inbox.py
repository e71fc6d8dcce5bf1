"""The inbox: events addressed to one institution, read in `seq` order and acknowledged on delivery."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.vocabulary import InboxEventKind
from gateway.problems import ProblemError
from gateway.security.keys import KeyRing
from gateway.security.signing import Evidence
from gateway.services import receipts
from gateway.services.registry import inbox_sequence
from gateway.storage import sequences
from gateway.storage.models import Case, InboxEvent, Message


# Events that deliver something (a case file, a message); status changes only notify.
DELIVERABLE = frozenset({InboxEventKind.CASE_OPENED.value, InboxEventKind.MESSAGE_RECEIVED.value})


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


def event_resource(event: InboxEvent) -> str:
    """What the event delivers: the message, or the case file itself."""
    base = f"/v1/cases/{event.case_id}"
    return f"{base}/messages/{event.message_id}" if event.message_id else base


def acknowledge(session: Session, recipient_id: str, event_id: str, evidence: Evidence, keys: KeyRing) -> InboxEvent:
    """Record delivery, signed by the recipient, and give the sender a signed delivery receipt.
    Acknowledging again changes nothing: the first delivery stands."""
    event = session.execute(
        select(InboxEvent).where(InboxEvent.id == event_id, InboxEvent.recipient_id == recipient_id).with_for_update()
    ).scalar_one_or_none()
    if event is None:
        raise ProblemError("not-found", "no such event in your inbox")
    if event.delivered_at is not None:
        return event
    event.delivered_at = datetime.now(UTC)
    event.delivery_signature = evidence.signature
    if event.kind in DELIVERABLE:
        case = session.get(Case, event.case_id)
        message = session.get(Message, event.message_id) if event.message_id else None
        sender_id = message.sender_id if message else case.mediator_id
        receipts.issue(
            session, keys, kind=receipts.DELIVERY, case_id=event.case_id, resource=event_resource(event),
            sender_id=sender_id, counterpart_id=recipient_id, signature=evidence.signature,
            sub=sender_id, recipient=recipient_id, event=event.id, delivered_at=event.delivered_at.isoformat(),
        )
    return event
