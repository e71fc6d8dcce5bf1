"""Opening case files, reading them, and moving them through their lifecycle with messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from gateway.contract.cases import CaseCreate, MessageCreate
from gateway.domain import lifecycle
from gateway.domain.events import LedgerEvent
from gateway.domain.vocabulary import CaseStatus, InboxEventKind, LedgerKind, MessageKind, Role
from gateway.problems import ProblemError
from gateway.services.vault import CaseContent, Vault
from gateway.storage.blobs import BlobStore
from gateway.storage.models import Case, CaseKey, Document, Message

if TYPE_CHECKING:
    from gateway.services.exchange import WriteUnit

# Processing times record when a case first reached each milestone.
_FIRST_ENTERED = {
    CaseStatus.ACKNOWLEDGED: "acknowledged_at",
    CaseStatus.ANSWERED: "answered_at",
    CaseStatus.CLOSED: "closed_at",
}


def live_key(key: bytes | None, what: str) -> bytes:
    """The case's data key; once its personal data is erased, the case takes no more `what`."""
    if key is None:
        raise ProblemError("personal-data-erased", f"this case's personal data was erased: it takes no more {what}")
    return key


def counterpart(case: Case, institution_id: str) -> str:
    return case.respondent_id if institution_id == case.mediator_id else case.mediator_id


def case_location(case_id: str) -> str:
    return f"/v1/cases/{case_id}"


def open_case(unit: WriteUnit, payload: CaseCreate, default_reply_days: int) -> KeyedCase:
    session, mediator, evidence = unit.session, unit.caller, unit.evidence
    respondent = unit.runtime.directory.by_id.get(payload.respondent_id)
    if respondent is None or respondent.role != Role.RESPONDENT:
        raise ProblemError("unknown-respondent", "respondent_id names no active respondent institution")
    now = datetime.now(UTC)
    deadline = payload.reply_deadline or now + timedelta(days=default_reply_days)
    _require_future(deadline, now, "reply_deadline")
    case = Case(
        id=str(uuid.uuid4()),
        mediator_id=mediator.id,
        respondent_id=respondent.id,
        reference=payload.reference,
        status=CaseStatus.OPEN.value,
        subject=payload.subject.value,
        project_name=payload.project.name,
        project_city=payload.project.city,
        project_region=payload.project.region,
        deadline=deadline,
        outcome=None,
        opened_at=now,
        updated_at=now,
        version=1,
        signature=evidence.signature if evidence else None,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError:  # the mediator's (mediator, reference) unique key: opened before, or concurrently
        raise ProblemError("duplicate-reference", "you already opened a case with this reference") from None
    narrative = {"title": payload.title, "summary": payload.summary, "requested_action": payload.requested_action}
    data_key = unit.vault.seal_case(session, case, CaseContent(payload.complainant.model_dump(mode="json"), narrative, evidence.body if evidence else None))
    unit.publish(respondent.id, InboxEventKind.CASE_OPENED, case)
    unit.record(LedgerEvent(LedgerKind.CASE_OPENED, case.id, respondent.id, case.subject, case_location(case.id)))
    return KeyedCase(case, data_key)


def _require_future(deadline: datetime, now: datetime, field: str) -> None:
    if deadline <= now:
        raise ProblemError(
            "validation-failed",
            "a deadline must be in the future",
            errors=[{"pointer": f"#/{field}", "detail": "must be in the future", "code": "deadline_in_past"}],
        )


def _visible_to(institution_id: str):
    return or_(Case.mediator_id == institution_id, Case.respondent_id == institution_id)


_CASE_OF_PARTY = select(Case).where(Case.id == bindparam("case_id"), _visible_to(bindparam("party")))
# A case with its data key, in one statement: reading or changing a case's content needs both.
_CASE_AND_KEY = (
    select(Case, CaseKey).outerjoin(CaseKey, CaseKey.case_id == Case.id)
    .where(Case.id == bindparam("case_id"), _visible_to(bindparam("party")))
)
# A write locks the case FOR NO KEY UPDATE: its key never changes, so rows inserted after it that
# refer to it (their foreign keys take FOR KEY SHARE) never wait for it.
_CASE_TO_CHANGE = _CASE_AND_KEY.with_for_update(key_share=True, of=Case)


def get_case(session: Session, institution_id: str, case_id: str) -> Case:
    """The case, if `institution_id` is a party to it. Any other case is reported exactly like a missing one."""
    return _found(session.execute(_CASE_OF_PARTY, {"case_id": case_id, "party": institution_id}).scalar_one_or_none())


@dataclass(frozen=True)
class KeyedCase:
    """A case with its data key (None once its personal data is erased)."""

    case: Case
    data_key: bytes | None


def read_case(session: Session, vault: Vault, institution_id: str, case_id: str, *, with_messages: bool = False) -> KeyedCase:
    """The case and its key, if `institution_id` is a party to it (with its timeline, if asked)."""
    statement = _CASE_AND_KEY.options(selectinload(Case.messages)) if with_messages else _CASE_AND_KEY
    return _keyed(session, vault, statement, institution_id, case_id)


def lock_case(session: Session, vault: Vault, institution_id: str, case_id: str) -> KeyedCase:
    """The case and its key, locked for the rest of the transaction, if `institution_id` is a party to it."""
    return _keyed(session, vault, _CASE_TO_CHANGE, institution_id, case_id)


def _keyed(session: Session, vault: Vault, statement, institution_id: str, case_id: str) -> KeyedCase:
    found = session.execute(statement, {"case_id": case_id, "party": institution_id}).first()
    case = _found(found[0] if found else None)
    return KeyedCase(case, vault.unwrap(found[1]))


def _found(case: Case | None) -> Case:
    if case is None:
        raise ProblemError("not-found", "no such case among yours")
    return case


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    counterpart: str | None = None
    overdue: bool | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class CaseCursor:
    """Position in the list, ordered by opening time then id (both immutable)."""

    opened_at: datetime
    id: str


def list_cases(session: Session, institution_id: str, filters: CaseFilter, after: CaseCursor | None, limit: int) -> list[Case]:
    statement: Select = select(Case).where(_visible_to(institution_id))
    if filters.status is not None:
        statement = statement.where(Case.status == filters.status.value)
    if filters.counterpart is not None:
        statement = statement.where(
            or_(
                and_(Case.mediator_id == institution_id, Case.respondent_id == filters.counterpart),
                and_(Case.respondent_id == institution_id, Case.mediator_id == filters.counterpart),
            )
        )
    if filters.overdue is not None:
        pending = Case.status.in_([status.value for status in lifecycle.REPLY_PENDING_STATES])
        late = and_(pending, Case.deadline < datetime.now(UTC))
        statement = statement.where(late if filters.overdue else ~late)
    if filters.updated_since is not None:
        statement = statement.where(Case.updated_at >= filters.updated_since)
    if after is not None:
        statement = statement.where(
            or_(Case.opened_at > after.opened_at, and_(Case.opened_at == after.opened_at, Case.id > after.id))
        )
    return list(session.execute(statement.order_by(Case.opened_at, Case.id).limit(limit)).scalars())


@dataclass(frozen=True)
class Posted:
    case: Case
    message: Message
    data_key: bytes  # the case's, unwrapped once for the whole write

    @property
    def location(self) -> str:
        return f"{case_location(self.case.id)}/messages/{self.message.id}"


def post_message(unit: WriteUnit, case_id: str, payload: MessageCreate, expected_version: int | None = None) -> Posted:
    """Add a message and apply the status change it drives, holding the case's row lock.

    Two concurrent messages on one case are serialized by the lock: the second one sees the
    state the first left, so of two racing final replies exactly one is accepted."""
    session, sender, evidence = unit.session, unit.caller, unit.evidence
    keyed = lock_case(session, unit.vault, sender.id, case_id)
    case, data_key = keyed.case, live_key(keyed.data_key, "messages")
    if expected_version is not None and expected_version != case.version:
        raise ProblemError("precondition-failed", "reload the case and decide again", current_version=case.version)
    before = CaseStatus(case.status)
    role = Role(sender.role)
    try:
        after = lifecycle.next_status(payload.kind, role, before)
    except lifecycle.TransitionRefused as refused:
        raise ProblemError(
            "transition-refused",
            f"{payload.kind.value} cannot be sent by a {role.value} while the case is {before.value}",
            case_status=before.value,
            allowed_kinds=[kind.value for kind in refused.allowed],
        ) from None
    now = datetime.now(UTC)
    if payload.new_deadline is not None:
        _require_future(payload.new_deadline, now, "new_deadline")
    message = Message(
        id=str(uuid.uuid4()),
        case_id=case.id,
        kind=payload.kind.value,
        sender_id=sender.id,
        outcome=payload.outcome.value if payload.outcome else None,
        new_deadline=payload.new_deadline,
        status_before=before.value,
        status_after=after.value,
        created_at=now,
        signature=evidence.signature if evidence else None,
        document_ids=_documents_of_case(session, case.id, payload.documents) or None,
    )
    unit.vault.seal_message(data_key, message, payload.body, evidence.body if evidence else None)
    _insert_message(session, message)
    _record_status(session, case, _status_after(case, payload, after, now))
    recipient = counterpart(case, sender.id)
    unit.publish(recipient, InboxEventKind.MESSAGE_RECEIVED, case, message)
    if after != before:
        unit.publish(recipient, InboxEventKind.STATUS_CHANGED, case, message)
    posted = Posted(case, message, data_key)
    unit.record(LedgerEvent(LedgerKind.MESSAGE_SENT, case.id, recipient, message.kind, posted.location))
    return posted


def _documents_of_case(session: Session, case_id: str, document_ids: list[str]) -> list[str]:
    """A message refers only to documents of its own case that are still there."""
    if not document_ids:
        return []
    found = set(session.execute(
        select(Document.id).where(Document.case_id == case_id, Document.id.in_(document_ids), Document.erased_at.is_(None))
    ).scalars())
    missing = [document_id for document_id in document_ids if document_id not in found]
    if missing:
        raise ProblemError("unknown-document", f"not documents of this case: {', '.join(missing)}", documents=missing)
    return document_ids


# The hottest write is a message: its two statements are Core, built once, and the ORM objects are
# only told what was written (they present the answer), so the session has nothing to flush.
_MESSAGES, _CASES = Message.__table__, Case.__table__
_INSERT_MESSAGE = (
    insert(_MESSAGES)
    .values(position=select(func.coalesce(func.max(_MESSAGES.c.position), 0) + 1)
            .where(_MESSAGES.c.case_id == bindparam("of_case")).scalar_subquery())
    .returning(_MESSAGES.c.position)
)
_STATUS_COLUMNS = ("status", "outcome", "deadline", "updated_at", "version", "acknowledged_at", "answered_at", "closed_at")
_RECORD_STATUS = update(_CASES).where(_CASES.c.id == bindparam("of_case")).values(
    {name: bindparam(f"new_{name}", type_=_CASES.c[name].type) for name in _STATUS_COLUMNS}
)


def _insert_message(session: Session, message: Message) -> None:
    """The next position on the case (its row is locked: no other message can take it meanwhile)."""
    row = {column.key: getattr(message, column.key) for column in _MESSAGES.columns if column.key != "position"}
    message.position = session.connection().execute(_INSERT_MESSAGE, {**row, "of_case": message.case_id}).scalar_one()


def _status_after(case: Case, payload: MessageCreate, after: CaseStatus, now: datetime) -> dict[str, object]:
    """The case's status columns once the message is in."""
    changed = {name: getattr(case, name) for name in _STATUS_COLUMNS}
    first_entry = _FIRST_ENTERED.get(after)
    if first_entry and changed[first_entry] is None:
        changed[first_entry] = now
    changed["status"] = after.value
    if payload.outcome is not None:
        changed["outcome"] = payload.outcome.value
    if payload.kind is MessageKind.FOLLOW_UP:
        changed["deadline"] = payload.new_deadline
    changed["updated_at"] = now
    changed["version"] = case.version + 1
    return changed


def _record_status(session: Session, case: Case, changed: dict[str, object]) -> None:
    session.connection().execute(_RECORD_STATUS, {"of_case": case.id, **{f"new_{name}": value for name, value in changed.items()}})
    for name, value in changed.items():
        set_committed_value(case, name, value)



@dataclass(frozen=True)
class Erasure:
    case: Case
    erased_now: bool  # False if it had been erased before
    blobs: list[str]  # document blobs to delete once committed


def erase_personal_data(unit: WriteUnit, case_id: str) -> Case:
    """Crypto-shred the case's personal data; its documents' blobs are deleted once that commits.
    Erasing again changes nothing and records nothing."""
    case = lock_case(unit.session, unit.vault, unit.caller.id, case_id).case
    if case.mediator_id != unit.caller.id:
        raise ProblemError("role-forbidden", "only the mediator who opened the case erases its personal data")
    erasure = erase(unit.session, unit.vault, case)
    if erasure.erased_now:
        unit.record(LedgerEvent(LedgerKind.PERSONAL_DATA_ERASED, case.id, case.respondent_id, None, case_location(case.id)))
        unit.after_commit.append(lambda: delete_blobs(unit.runtime.blobs, erasure.blobs))
    return case


def delete_blobs(blobs: BlobStore, names: list[str]) -> None:
    """Unreadable already without the case key; now gone too."""
    for name in names:
        blobs.delete(name)


def erase(session: Session, vault: Vault, case: Case) -> Erasure:
    if case.personal_data_erased_at is not None:
        return Erasure(case, False, [])
    blobs = vault.erase(session, case)
    case.updated_at = case.personal_data_erased_at
    case.version += 1
    return Erasure(case, True, blobs)


def messages_of(session: Session, case: Case) -> list[Message]:
    return list(session.execute(select(Message).where(Message.case_id == case.id).order_by(Message.position)).scalars())
