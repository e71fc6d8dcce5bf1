"""Opening case files, reading them, and moving them through their lifecycle with messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from imr_alomrane_gateway_client.contract.cases import CaseCreate, MessageCreate
from gateway.domain import lifecycle
from gateway.domain.events import LedgerEvent, Side
from gateway.domain.party import Party, Unit
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import CaseStatus, InboxEventKind, LedgerKind, MessageKind, Role
from gateway.problems import ProblemError
from gateway.services.vault import CaseContent, Vault
from gateway.storage.blobs import BlobStore
from gateway.storage.models import Case, CaseKey, Document, Message, ThematicFile

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


# What is said here of a case holds for a thematic file too: both have a mediator's side, a
# respondent's side and a project (the same columns), and `thematic` tells them apart.
Held = Case | ThematicFile


def mediator_side(case: Held) -> Side:
    return Side(case.mediator_id, case.mediator_unit)


def respondent_side(case: Held) -> Side:
    return Side(case.respondent_id, case.respondent_unit)


def counterpart(case: Held, institution_id: str) -> Side:
    """The other party to the case, as the unit that holds it on that side."""
    return respondent_side(case) if institution_id == case.mediator_id else mediator_side(case)


_REGION_CODES = frozenset(region.value for region in Region)


def case_region(case: Held) -> str | None:
    """The project's region code (None for a region written as free text before regions were a list)."""
    return case.project_region if case.project_region in _REGION_CODES else None


def case_event(case: Held, caller: Party, kind: LedgerKind, **details) -> LedgerEvent:
    """A ledger event on `case` addressed to the other party's unit (the case's region recorded)."""
    return LedgerEvent(kind, case.id, counterpart(case, caller.id), region=case_region(case), thematic=case.thematic, **details)


def case_location(case_id: str) -> str:
    return f"/v1/cases/{case_id}"


def named_or_routed(unit: WriteUnit, institution_id: str, named: str | None, region: Region, field: str) -> Unit:
    """The unit a new case goes to on one side: the one named, else the one serving the region."""
    directory = unit.runtime.directory
    if named is None:
        return directory.unit_serving(institution_id, region)
    found = directory.units.get(named)
    if found is None or found.id != institution_id:
        raise ProblemError("unknown-unit", f"{field} names no active unit of {institution_id}",
                           errors=[{"pointer": f"#/{field}", "detail": "not a unit of that institution", "code": "unknown_unit"}])
    return found.unit


def own_unit(unit: WriteUnit, named: str | None, region: Region, field: str) -> Unit:
    """The unit a new case goes to on the opener's side: a regional unit opens for itself; a head
    office names one of its units, or routes by region."""
    opener = unit.caller
    if opener.unit.head_office:
        return named_or_routed(unit, opener.id, named, region, field)
    if named not in (None, opener.unit_id):
        raise ProblemError("unknown-unit", "a regional unit opens files for itself",
                           errors=[{"pointer": f"#/{field}", "detail": "must be your own unit", "code": "unknown_unit"}])
    return opener.unit


def open_case(unit: WriteUnit, payload: CaseCreate, default_reply_days: int) -> KeyedCase:
    session, mediator, evidence = unit.session, unit.caller, unit.evidence
    respondent = unit.runtime.directory.by_id.get(payload.respondent_id)
    if respondent is None or respondent.role != Role.RESPONDENT:
        raise ProblemError("unknown-respondent", "respondent_id names no active respondent institution")
    region = payload.project.region
    respondent_unit = named_or_routed(unit, respondent.id, payload.respondent_unit, region, "respondent_unit")
    mediator_unit = own_unit(unit, payload.mediator_unit, region, "mediator_unit")
    now = datetime.now(UTC)
    deadline = payload.reply_deadline or now + timedelta(days=default_reply_days)
    require_future(deadline, now, "reply_deadline")
    case = Case(
        id=str(uuid.uuid4()),
        mediator_id=mediator.id,
        respondent_id=respondent.id,
        mediator_unit=mediator_unit.id,
        respondent_unit=respondent_unit.id,
        reference=payload.reference,
        status=CaseStatus.OPEN.value,
        subject=payload.subject.value,
        project_name=payload.project.name,
        project_city=payload.project.city,
        project_region=region.value,
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
    unit.publish(respondent_side(case), InboxEventKind.CASE_OPENED, case)
    unit.record(case_event(case, mediator, LedgerKind.CASE_OPENED, detail=case.subject, location=case_location(case.id), due=deadline))
    return KeyedCase(case, data_key)


def require_future(deadline: datetime, now: datetime, field: str) -> None:
    if deadline <= now:
        raise ProblemError(
            "validation-failed",
            "a deadline must be in the future",
            errors=[{"pointer": f"#/{field}", "detail": "must be in the future", "code": "deadline_in_past"}],
        )


def scope(caller: Party) -> str:
    """Whose rows `caller` sees: a head office, its institution's; a regional unit, its own."""
    return caller.id if caller.unit.head_office else caller.unit_id


def visible_to(head_office: bool, institution_column, unit_column, party):
    """The condition that a row's side belongs to `party` (a `scope`): by institution for a head
    office, by unit for a regional unit."""
    return (institution_column if head_office else unit_column) == party


def seen_by(head_office: bool, party, held: type[Held] = Case):
    """The condition that `party` (a `scope`) holds a case (or thematic file) on either side."""
    return or_(visible_to(head_office, held.mediator_id, held.mediator_unit, party),
               visible_to(head_office, held.respondent_id, held.respondent_unit, party))


def by_scope(build, held: type[Held] = Case):
    """A statement built once for head offices and once for regional units: `[caller.unit.head_office]`."""
    return {head_office: build(seen_by(head_office, bindparam("party"), held)) for head_office in (True, False)}




_CASE_OF_PARTY = by_scope(lambda seen: select(Case).where(Case.id == bindparam("case_id"), seen))
# A case with its data key, in one statement: reading or changing a case's content needs both.
_CASE_AND_KEY = by_scope(lambda seen: (
    select(Case, CaseKey).outerjoin(CaseKey, CaseKey.case_id == Case.id).where(Case.id == bindparam("case_id"), seen)
))
# A write locks the case FOR NO KEY UPDATE: its key never changes, so rows inserted after it that
# refer to it (their foreign keys take FOR KEY SHARE) never wait for it.
_CASE_TO_CHANGE = {scope: statement.with_for_update(key_share=True, of=Case) for scope, statement in _CASE_AND_KEY.items()}


def get_case(session: Session, caller: Party, case_id: str) -> Case:
    """The case, if `caller` sees it. Any other case is reported exactly like a missing one."""
    statement = _CASE_OF_PARTY[caller.unit.head_office]
    return _found(session.execute(statement, {"case_id": case_id, "party": scope(caller)}).scalar_one_or_none())


@dataclass(frozen=True)
class KeyedCase:
    """A case with its data key (None once its personal data is erased)."""

    case: Case
    data_key: bytes | None

    @property
    def held(self) -> Case:
        return self.case


def read_case(session: Session, vault: Vault, caller: Party, case_id: str, *, with_messages: bool = False) -> KeyedCase:
    """The case and its key, if `caller` sees it (with its timeline, if asked)."""
    statement = _CASE_AND_KEY[caller.unit.head_office]
    return _keyed(session, vault, statement.options(selectinload(Case.messages)) if with_messages else statement, caller, case_id)


def lock_case(session: Session, vault: Vault, caller: Party, case_id: str) -> KeyedCase:
    """The case and its key, locked for the rest of the transaction, if `caller` sees it."""
    return _keyed(session, vault, _CASE_TO_CHANGE[caller.unit.head_office], caller, case_id)


def _keyed(session: Session, vault: Vault, statement, caller: Party, case_id: str) -> KeyedCase:
    return KeyedCase(*with_key(session, vault, statement, caller, case_id))


def with_key(session: Session, vault: Vault, statement, caller: Party, held_id: str, what: str = "case") -> tuple:
    """What `statement` (a case or thematic file with its key row, by `:case_id` and `:party`)
    finds for `caller`, with the data key unwrapped; else 404, as for a missing one."""
    found = session.execute(statement, {"case_id": held_id, "party": scope(caller)}).first()
    if found is None:
        raise ProblemError("not-found", f"no such {what} among yours")
    return found[0], vault.unwrap(found[1])


def _found(case: Case | None) -> Case:
    if case is None:
        raise ProblemError("not-found", "no such case among yours")
    return case


def overdue(now: datetime) -> ColumnElement[bool]:
    """Past its reply deadline while it waits for the final reply (`lifecycle.REPLY_PENDING_STATES`)."""
    return and_(Case.status.in_([status.value for status in lifecycle.REPLY_PENDING_STATES]), Case.deadline < now)


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    counterpart: str | None = None
    overdue: bool | None = None
    updated_since: datetime | None = None
    unit: str | None = None  # held by this unit, on either side
    region: Region | None = None


@dataclass(frozen=True)
class CaseCursor:
    """Position in the list, ordered by opening time then id (both immutable)."""

    opened_at: datetime
    id: str


def list_cases(session: Session, caller: Party, filters: CaseFilter, after: CaseCursor | None, limit: int) -> list[Case]:
    statement: Select = select(Case).where(seen_by(caller.unit.head_office, scope(caller)))
    if filters.status is not None:
        statement = statement.where(Case.status == filters.status.value)
    if filters.counterpart is not None:
        statement = statement.where(
            or_(
                and_(Case.mediator_id == caller.id, Case.respondent_id == filters.counterpart),
                and_(Case.respondent_id == caller.id, Case.mediator_id == filters.counterpart),
            )
        )
    if filters.unit is not None:
        statement = statement.where(or_(Case.mediator_unit == filters.unit, Case.respondent_unit == filters.unit))
    if filters.region is not None:
        statement = statement.where(Case.project_region == filters.region.value)
    if filters.overdue is not None:
        late = overdue(datetime.now(UTC))
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
    keyed = lock_case(session, unit.vault, sender, case_id)
    case, data_key = keyed.case, live_key(keyed.data_key, "messages")
    if expected_version is not None and expected_version != case.version:
        raise ProblemError("precondition-failed", "reload the case and decide again", current_version=case.version)
    before = CaseStatus(case.status)
    after = transition(lifecycle.RULES, payload.kind, Role(sender.role), before, "case")
    now = datetime.now(UTC)
    if payload.new_deadline is not None:
        require_future(payload.new_deadline, now, "new_deadline")
    message = Message(
        id=str(uuid.uuid4()),
        case_id=case.id,
        kind=payload.kind.value,
        sender_id=sender.id,
        sender_unit=sender.unit_id,
        outcome=payload.outcome.value if payload.outcome else None,
        new_deadline=payload.new_deadline,
        status_before=before.value,
        status_after=after.value,
        created_at=now,
        signature=evidence.signature if evidence else None,
        document_ids=_documents_of_case(session, case.id, payload.documents) or None,
        late_seconds=lifecycle.seconds_late(case.deadline, now) if payload.kind is lifecycle.ANSWER else None,
    )
    unit.vault.seal_message(data_key, message, payload.body, evidence.body if evidence else None)
    _insert_message(session, message)
    _record_status(session, case, _status_after(case, payload, after, now))
    recipient = counterpart(case, sender.id)
    unit.publish(recipient, InboxEventKind.MESSAGE_RECEIVED, case, message)
    if after != before:
        unit.publish(recipient, InboxEventKind.STATUS_CHANGED, case, message)
    posted = Posted(case, message, data_key)
    unit.record(case_event(case, sender, LedgerKind.MESSAGE_SENT, detail=message.kind, location=posted.location,
                           due=payload.new_deadline))
    return posted


def transition(table: lifecycle.Table, kind, role: Role, before, what: str):
    """The status after `role` sends `kind` on a `what` in `before`; else 409 with what is allowed."""
    try:
        return lifecycle.next_status(kind, role, before, table)
    except lifecycle.TransitionRefused as refused:
        raise ProblemError(
            "transition-refused",
            f"{kind.value} cannot be sent by a {role.value} while the {what} is {before.value}",
            case_status=before.value,
            allowed_kinds=[allowed.value for allowed in refused.allowed],
        ) from None


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



def transfer(unit: WriteUnit, case_id: str, to_unit: str) -> Case:
    """Move the case, on the caller's side, to another unit of the caller's institution: the unit
    holding it or its head office decides. The case's lock orders a transfer and a racing reply:
    whichever comes second sees the case as the first left it (a reply from the unit that lost the
    case is then answered 404, like any case it does not hold)."""
    session, caller, directory = unit.session, unit.caller, unit.runtime.directory
    case = lock_case(session, unit.vault, caller, case_id).case
    if case.status == CaseStatus.CLOSED.value:
        raise ProblemError("case-closed", "a closed case stays where it was closed")
    side = Role.MEDIATOR if caller.id == case.mediator_id else Role.RESPONDENT
    column = f"{side.value}_unit"
    target = directory.units.get(to_unit)
    if target is None or target.id != caller.id:
        raise ProblemError("unknown-unit", "unit names no active unit of your institution",
                           errors=[{"pointer": "#/unit", "detail": "not a unit of your institution", "code": "unknown_unit"}])
    leaving = getattr(case, column)
    if target.unit_id == leaving:
        raise ProblemError("transfer-refused", "the case is with that unit already")
    setattr(case, column, target.unit_id)
    case.version += 1
    case.updated_at = datetime.now(UTC)
    for side_notified in (Side(caller.id, leaving), Side(caller.id, target.unit_id), counterpart(case, caller.id)):
        unit.publish(side_notified, InboxEventKind.CASE_TRANSFERRED, case)
    unit.record(LedgerEvent(LedgerKind.CASE_TRANSFERRED, case.id, Side(caller.id, target.unit_id), detail=side.value,
                            location=case_location(case.id), region=case_region(case)))
    return case


@dataclass(frozen=True)
class Erasure:
    case: Case
    erased_now: bool  # False if it had been erased before
    blobs: list[str]  # document blobs to delete once committed


def erase_personal_data(unit: WriteUnit, case_id: str) -> Case:
    """Crypto-shred the case's personal data; its documents' blobs are deleted once that commits.
    Erasing again changes nothing and records nothing."""
    case = lock_case(unit.session, unit.vault, unit.caller, case_id).case
    if case.mediator_id != unit.caller.id:
        raise ProblemError("role-forbidden", "only the mediator who opened the case erases its personal data")
    erasure = erase(unit.session, unit.vault, case)
    if erasure.erased_now:
        unit.record(case_event(case, unit.caller, LedgerKind.PERSONAL_DATA_ERASED, location=case_location(case.id)))
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
