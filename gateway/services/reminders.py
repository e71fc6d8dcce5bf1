"""Reminders: a deadline that passed without its answer is reminded to the unit responsible, then,
`GATEWAY_ESCALATION_DAYS` later, to its head office.

Two kinds of deadline wait for the respondent: a case's reply deadline, while the case waits for a
final reply (`lifecycle.REPLY_PENDING_STATES`: the rule that makes it overdue), and a thematic
file's commitment, until a progress report fulfils it (while the file is open). Each reminder is
one transaction, in the exchange's lock order: the case's or file's row (`FOR NO KEY UPDATE`; then
it is checked again: answered, fulfilled or given a new deadline meanwhile, it is not reminded),
the reminder's row, whose unique key (resource, deadline, step) makes it exactly once whichever
process or cron run gets there first, the inbox counter, then the ledger counter. The ledger entry
is sent by the gateway itself; no request, so no receipt.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, literal, select
from sqlalchemy.orm import Session

from gateway.domain import lifecycle
from gateway.domain.events import Side
from imr_alomrane_gateway_client.vocabulary import InboxEventKind, LedgerKind, ReminderStep, ThematicMessageKind, ThematicStatus
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.ledger.store import Appended, Ledger, NewEntry
from imr_alomrane_gateway_client.signing import content_digest
from gateway.services import inbox
from gateway.services.cases import case_location, case_region, overdue
from gateway.services.thematic import file_location, message_location
from gateway.storage.models import Case, Reminder, ThematicFile, ThematicMessage
from gateway.storage.upsert import insert_ignore

_PENDING = [status.value for status in lifecycle.REPLY_PENDING_STATES]


@dataclass(frozen=True)
class Due:
    """A reminder to send: the deadline of a case (`commitment` None) or of a file's commitment, at which step."""

    about: str  # the case's or thematic file's id
    deadline: datetime
    step: ReminderStep
    commitment: str | None = None


def _steps(now: datetime, escalation_days: int) -> tuple[tuple[ReminderStep, datetime], ...]:
    """Each step with the time its deadlines must have passed by."""
    return (ReminderStep.DUE, now), (ReminderStep.ESCALATED, now - timedelta(days=escalation_days))


def _not_sent(resource, deadline, step: ReminderStep):
    return ~exists().where(and_(Reminder.resource == resource, Reminder.deadline == deadline, Reminder.step == step.value))


def due(session: Session, now: datetime, escalation_days: int, limit: int) -> list[Due]:
    """The reminders not sent yet, oldest deadline first within each step: deadlines passed (and,
    for escalation, passed long enough ago)."""
    found: list[Due] = []
    # The resources in SQL (case_location, message_location), to match a reminder's.
    case_resource = literal(case_location("")) + Case.id
    commitment_resource = literal(file_location("")) + ThematicMessage.thematic_file_id + literal("/messages/") + ThematicMessage.id
    for step, passed_before in _steps(now, escalation_days):
        cases = (
            select(Case.id, Case.deadline).where(overdue(passed_before), _not_sent(case_resource, Case.deadline, step))
            .order_by(Case.deadline, Case.id).limit(limit - len(found))
        )
        found += [Due(case_id, deadline, step) for case_id, deadline in session.execute(cases)]
        commitments = (
            select(ThematicMessage.thematic_file_id, ThematicMessage.due_date, ThematicMessage.id)
            .join(ThematicFile, ThematicFile.id == ThematicMessage.thematic_file_id)
            .where(ThematicMessage.kind == ThematicMessageKind.COMMITMENT.value, ThematicMessage.fulfilled_by.is_(None),
                   ThematicMessage.due_date < passed_before, ThematicFile.status != ThematicStatus.CLOSED.value,
                   _not_sent(commitment_resource, ThematicMessage.due_date, step))
            .order_by(ThematicMessage.due_date, ThematicMessage.id).limit(max(limit - len(found), 0))
        )
        found += [Due(file_id, deadline, step, commitment) for file_id, deadline, commitment in session.execute(commitments)]
        if len(found) >= limit:
            break
    return found[:limit]


@dataclass(frozen=True)
class _Deadline:
    """What a reminder is about, read under its row's lock: still missed, or not to be reminded."""

    resource: str
    responsible: Side  # the unit holding it on the respondent's side
    region: str | None
    status: str
    missed: bool
    thematic: bool


def _locked(session: Session, reminder: Due) -> _Deadline:
    if reminder.commitment is None:
        case = session.execute(select(Case).where(Case.id == reminder.about).with_for_update(key_share=True, of=Case)).scalar_one()
        missed = case.status in _PENDING and case.deadline == reminder.deadline
        return _Deadline(case_location(case.id), Side(case.respondent_id, case.respondent_unit), case_region(case), case.status,
                         missed, thematic=False)
    file = session.execute(
        select(ThematicFile).where(ThematicFile.id == reminder.about).with_for_update(key_share=True, of=ThematicFile)
    ).scalar_one()
    commitment = session.get(ThematicMessage, reminder.commitment)
    missed = file.status != ThematicStatus.CLOSED.value and commitment.fulfilled_by is None
    return _Deadline(message_location(file.id, commitment.id), Side(file.respondent_id, file.respondent_unit),
                     case_region(file), file.status, missed, thematic=True)


def send(session: Session, ledger: Ledger, gateway_id: str, reminder: Due, now: datetime) -> Appended | None:
    """Send one reminder in the caller's transaction, if the deadline is still missed and it was
    not sent already; the caller (gateway.jobs) commits, then tells the ledger (Ledger.committed)."""
    deadline = _locked(session, reminder)
    if not deadline.missed:
        return None  # answered, fulfilled, closed or given a new deadline since it was found
    head_office = reminder.step is ReminderStep.ESCALATED
    recipient = Side(deadline.responsible.institution_id,
                     deadline.responsible.institution_id if head_office else deadline.responsible.unit_id)
    row = {"id": str(uuid.uuid4()), "case_id": None if deadline.thematic else reminder.about,
           "thematic_file_id": reminder.about if deadline.thematic else None, "resource": deadline.resource,
           "deadline": reminder.deadline, "step": reminder.step.value, "recipient_id": recipient.institution_id,
           "recipient_unit": recipient.unit_id, "sent_at": now}
    if not insert_ignore(session, Reminder, [row]):
        return None  # another process sent it
    inbox.deliver(session, [inbox.Notice(recipient, InboxEventKind.REMINDER, reminder.about, reminder.commitment, deadline.status,
                                         deadline.thematic)])
    statement = json.dumps({"about": deadline.resource, "deadline": timestamp(reminder.deadline), "step": reminder.step.value,
                            "unit": recipient.unit_id, "sent_at": timestamp(now)}, sort_keys=True, separators=(",", ":"))
    return ledger.append(session, NewEntry(
        kind=LedgerKind.REMINDER_SENT, detail=reminder.step.value, sender=gateway_id, sender_unit=gateway_id,
        recipient=recipient.institution_id, recipient_unit=recipient.unit_id, case=reminder.about, resource=deadline.resource,
        payload_digest=content_digest(statement.encode()), signature_digest=content_digest(b""), region=deadline.region,
        due=timestamp(reminder.deadline),
    ))
