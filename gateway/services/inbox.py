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

from imr_alomrane_gateway_client.contract.common import utc_text
from gateway.domain.events import Side
from gateway.domain.party import Party
from imr_alomrane_gateway_client.vocabulary import InboxEventKind, LedgerKind
from gateway.problems import ProblemError
from gateway.security.registry import Directory
from gateway.services import receipts
from gateway.services.cases import case_event, mediator_side, respondent_side
from gateway.services.registry import inbox_sequence
from gateway.storage import sequences
from gateway.storage.models import Case, InboxEvent, Message, ThematicFile, ThematicMessage

if TYPE_CHECKING:
    from gateway.services.exchange import WriteUnit

# Events that deliver something (a case or thematic file, a message); the others only notify.
DELIVERABLE = frozenset(kind.value for kind in (InboxEventKind.CASE_OPENED, InboxEventKind.MESSAGE_RECEIVED,
                                                InboxEventKind.THEMATIC_FILE_OPENED, InboxEventKind.THEMATIC_MESSAGE_RECEIVED))
_INSERT_EVENTS = insert(InboxEvent.__table__)


@dataclass(frozen=True)
class Notice:
    """An inbox event a write will publish; it gets its `seq` when the write is accepted."""

    recipient: Side
    kind: InboxEventKind
    case_id: str  # or the thematic file's id
    message_id: str | None
    status: str
    thematic: bool = False

    def about(self) -> dict[str, str | None]:
        """The event's columns naming what it is about."""
        if self.thematic:
            return {"case_id": None, "message_id": None, "thematic_file_id": self.case_id, "thematic_message_id": self.message_id}
        return {"case_id": self.case_id, "message_id": self.message_id, "thematic_file_id": None, "thematic_message_id": None}


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
             "seq": first + offset, "kind": notice.kind.value, **notice.about(), "status": notice.status, "created_at": now}
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
    """What the event delivers: the message, or the case (or thematic) file itself."""
    if event.thematic_file_id:
        base, message_id = f"/v1/thematic-files/{event.thematic_file_id}", event.thematic_message_id
    else:
        base, message_id = f"/v1/cases/{event.case_id}", event.message_id
    return f"{base}/messages/{message_id}" if message_id else base


def _about(session: Session, event: InboxEvent) -> tuple[Case | ThematicFile, Message | ThematicMessage | None]:
    """The case or thematic file the event is about, and its message if any."""
    if event.thematic_file_id:
        message = session.get(ThematicMessage, event.thematic_message_id) if event.thematic_message_id else None
        return session.get(ThematicFile, event.thematic_file_id), message
    return session.get(Case, event.case_id), session.get(Message, event.message_id) if event.message_id else None


def _sender(about: Case | ThematicFile, message: Message | ThematicMessage | None) -> Side:
    """Who sent what the event delivers: the message's sender, else whoever opened the file."""
    if message is not None:
        return Side(message.sender_id, message.sender_unit)
    opened_by = about.opened_by if about.thematic else about.mediator_id
    return mediator_side(about) if opened_by == about.mediator_id else respondent_side(about)


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
    about, message = _about(session, event)
    if event.kind in DELIVERABLE:
        sender = _sender(about, message)
        receipts.issue(
            session, unit.keys, kind=receipts.DELIVERY, case_id=about.id, thematic=about.thematic, resource=event_resource(event),
            sender_id=sender.institution_id, counterpart_id=event.recipient_id, signature=unit.signature,
            sub=sender.unit_id, recipient=event.recipient_unit, event=event.id, delivered_at=utc_text(event.delivered_at),
        )
    unit.record(case_event(about, caller, LedgerKind.DELIVERY_ACKNOWLEDGED, detail=event.kind))
    return event
