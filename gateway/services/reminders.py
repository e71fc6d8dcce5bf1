"""Reminders: a deadline that passed without its answer is reminded to the unit responsible, then,
`GATEWAY_ESCALATION_DAYS` later, to its head office.

A case's reply deadline is due from its respondent while the case waits for a final reply
(`lifecycle.REPLY_PENDING_STATES`): the same rule that makes it overdue. Each reminder is one
transaction, in the exchange's lock order: the case row (`FOR NO KEY UPDATE`, then the case is
checked again: answered or given a new deadline meanwhile, it is not reminded), the reminder's
row, whose unique key (resource, deadline, step) makes it exactly once whichever process or cron
run gets there first, the inbox counter, then the ledger counter. The ledger entry is sent by the
gateway itself; no request, so no receipt.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from gateway.domain import lifecycle
from gateway.domain.events import Side
from gateway.domain.vocabulary import InboxEventKind, LedgerKind, ReminderStep
from gateway.ledger.entry import NewEntry, timestamp
from gateway.ledger.store import Appended, Ledger
from gateway.security.signing import content_digest
from gateway.services import inbox
from gateway.services.cases import case_location, case_region
from gateway.storage.models import Case, Reminder
from gateway.storage.upsert import insert_ignore

_PENDING = [status.value for status in lifecycle.REPLY_PENDING_STATES]


@dataclass(frozen=True)
class Due:
    """A reminder to send: which case's deadline, at which step."""

    case_id: str
    deadline: datetime
    step: ReminderStep


def due(session: Session, now: datetime, escalation_days: int, limit: int) -> list[Due]:
    """The reminders not sent yet: deadlines passed (and, for escalation, passed long enough ago)."""
    found: list[Due] = []
    for step, passed_before in ((ReminderStep.DUE, now), (ReminderStep.ESCALATED, now - timedelta(days=escalation_days))):
        sent = exists().where(and_(Reminder.resource == _case_resource(), Reminder.deadline == Case.deadline,
                                   Reminder.step == step.value))
        statement = (
            select(Case.id, Case.deadline).where(Case.status.in_(_PENDING), Case.deadline < passed_before, ~sent)
            .order_by(Case.deadline, Case.id).limit(limit - len(found))
        )
        found += [Due(case_id, deadline, step) for case_id, deadline in session.execute(statement)]
        if len(found) >= limit:
            break
    return found


def _case_resource():
    """`case_location(Case.id)` in SQL, so that a query can match a reminder's resource."""
    return case_location("") + Case.id


def send(session: Session, ledger: Ledger, gateway_id: str, reminder: Due, now: datetime) -> Appended | None:
    """Send one reminder in the caller's transaction, if the deadline is still missed and it was
    not sent already; the caller (gateway.jobs) commits, then tells the ledger (Ledger.committed)."""
    case = session.execute(select(Case).where(Case.id == reminder.case_id).with_for_update(key_share=True, of=Case)).scalar_one()
    if case.status not in _PENDING or case.deadline != reminder.deadline:
        return None  # answered, closed or given a new deadline since it was found
    recipient = Side(case.respondent_id, case.respondent_unit if reminder.step is ReminderStep.DUE else case.respondent_id)
    resource = case_location(case.id)
    row = {"id": str(uuid.uuid4()), "case_id": case.id, "resource": resource, "deadline": case.deadline, "step": reminder.step.value,
           "recipient_id": recipient.institution_id, "recipient_unit": recipient.unit_id, "sent_at": now}
    if not insert_ignore(session, Reminder, [row]):
        return None  # another process sent it
    inbox.deliver(session, [inbox.Notice(recipient, InboxEventKind.REMINDER, case.id, None, case.status)])
    statement = json.dumps({"case": case.id, "deadline": timestamp(case.deadline), "step": reminder.step.value,
                            "unit": recipient.unit_id, "sent_at": timestamp(now)}, sort_keys=True, separators=(",", ":"))
    return ledger.append(session, NewEntry(
        kind=LedgerKind.REMINDER_SENT, detail=reminder.step.value, sender=gateway_id, sender_unit=gateway_id,
        recipient=recipient.institution_id, recipient_unit=recipient.unit_id, case=case.id, resource=resource,
        payload_digest=content_digest(statement.encode()), signature_digest=content_digest(b""), region=case_region(case),
        due=timestamp(case.deadline),
    ))
