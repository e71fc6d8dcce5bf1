"""The inbox: events addressed to one unit, read in `seq` order and acknowledged on delivery.

Each unit has its own inbox and counter (a head office's is its institution's, as before units
existed). A head office may also read and acknowledge the events of its institution's units."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.domain.events import Side
from gateway.domain.party import Party
from gateway.domain.vocabulary import InboxEventKind, LedgerKind
from gateway.problems import ProblemError
from gateway.security.registry import Directory
from gateway.services import receipts
from gateway.services.cases import case_event
from gateway.services.registry import inbox_sequence
from gateway.storage import sequences
from gateway.storage.models import Case, InboxEvent, Message

if TYPE_CHECKING:
    from gateway.services.exchange import WriteUnit

# Events that deliver something (a case file, a message); status changes only notify.
DELIVERABLE = frozenset({InboxEventKind.CASE_OPENED.value, InboxEventKind.MESSAGE_RECEIVED.value})
_INSERT_EVENTS = insert(InboxEvent.__table__)


@dataclass(frozen=True)
class Notice:
    """An inbox event a write will publish; it gets its `seq` when the write is accepted."""

    recipient: Side
    kind: InboxEventKind
    case_id: str
    message_id: str | None
    status: str


def deliver(session: Session, notices: list[Notice]) -> None:
    """Number the write's events and insert them. Each recipient's counter stays locked until
    commit, so events become visible in `seq` order and a reader resuming after N never skips one
    that commits late; counters are taken in name order, near the end of the write."""
    if not notices:
        return
    by_recipient: dict[Side, list[Notice]] = defaultdict(list)
    for notice in notices:
        by_recipient[notice.recipient].append(notice)
    now = datetime.now(UTC)
    rows = []
    for recipient in sorted(by_recipient, key=lambda side: side.unit_id):
        batch = by_recipient[recipient]
        first = sequences.advance(session, inbox_sequence(recipient.unit_id), len(batch)) - len(batch) + 1
        rows += [
            {"id": str(uuid.uuid4()), "recipient_id": recipient.institution_id, "recipient_unit": recipient.unit_id,
             "seq": first + offset, "kind": notice.kind.value,
             "case_id": notice.case_id, "message_id": notice.message_id, "status": notice.status, "created_at": now}
            for offset, notice in enumerate(batch)
        ]
    session.connection().execute(_INSERT_EVENTS, rows)


def inbox_of(caller: Party, unit_id: str | None, directory: Directory) -> Side:
    """The inbox `caller` reads: its unit's, or (a head office) one of its institution's units'."""
    if unit_id is None or unit_id == caller.unit_id:
        return Side(caller.id, caller.unit_id)
    if not caller.unit.head_office:
        raise ProblemError("role-forbidden", "a regional unit reads its own inbox only")
    if unit_id not in {unit.id for unit in directory.units_of(caller.id)}:
        raise ProblemError("unknown-unit", "unit names no active unit of your institution",
                           errors=[{"parameter": "unit", "detail": "not a unit of your institution", "code": "unknown_unit"}])
    return Side(caller.id, unit_id)


def list_events(session: Session, inbox: Side, after: int, limit: int) -> list[InboxEvent]:
    statement = (
        select(InboxEvent)
        .where(InboxEvent.recipient_id == inbox.institution_id, InboxEvent.recipient_unit == inbox.unit_id, InboxEvent.seq > after)
        .order_by(InboxEvent.seq)
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def event_resource(event: InboxEvent) -> str:
    """What the event delivers: the message, or the case file itself."""
    base = f"/v1/cases/{event.case_id}"
    return f"{base}/messages/{event.message_id}" if event.message_id else base


def acknowledge(unit: WriteUnit, event_id: str, target: str) -> InboxEvent:
    """Record delivery, signed by the recipient, and give the sender a signed delivery receipt.
    Acknowledging again changes nothing and answers as the first time: the first delivery stands."""
    session, caller = unit.session, unit.caller
    mine = InboxEvent.recipient_id == caller.id if caller.unit.head_office else InboxEvent.recipient_unit == caller.unit_id
    event = session.execute(
        select(InboxEvent).where(InboxEvent.id == event_id, mine).with_for_update(key_share=True)
    ).scalar_one_or_none()
    if event is None:
        raise ProblemError("not-found", "no such event in your inbox")
    if event.delivered_at is not None:
        unit.repeated(target)
        return event
    event.delivered_at = datetime.now(UTC)
    event.delivery_signature = unit.signature
    case = session.get(Case, event.case_id)
    if event.kind in DELIVERABLE:
        message = session.get(Message, event.message_id) if event.message_id else None
        sender = Side(message.sender_id, message.sender_unit) if message else Side(case.mediator_id, case.mediator_unit)
        receipts.issue(
            session, unit.keys, kind=receipts.DELIVERY, case_id=event.case_id, resource=event_resource(event),
            sender_id=sender.institution_id, counterpart_id=event.recipient_id, signature=unit.signature,
            sub=sender.unit_id, recipient=event.recipient_unit, event=event.id, delivered_at=event.delivered_at.isoformat(),
        )
    unit.record(case_event(case, caller, LedgerKind.DELIVERY_ACKNOWLEDGED, detail=event.kind))
    return event
