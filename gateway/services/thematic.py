"""Thematic files: opened by either party, seen by units as cases are, moved through their own
lifecycle table by signed messages, with commitments (due dates, fulfilment) and linked cases.

A write locks the file's row `FOR NO KEY UPDATE`, as a case write locks its case (step 3 of the
lock order in gateway.services.exchange); a link reads the case without locking it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, and_, bindparam, delete, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from imr_alomrane_gateway_client.contract.thematic import ThematicFileCreate, ThematicMessageCreate
from gateway.domain import thematic
from gateway.domain.lifecycle import seconds_late
from gateway.domain.party import Party
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import InboxEventKind, LedgerKind, Role, ThematicMessageKind, ThematicStatus
from gateway.problems import ProblemError
from gateway.services.cases import (
    CaseCursor,
    by_scope,
    case_event,
    case_location,
    counterpart,
    get_case,
    named_or_routed,
    own_unit,
    require_future,
    scope,
    seen_by,
    transition,
    with_key,
)
from gateway.services.vault import Vault
from gateway.storage.models import ThematicFile, ThematicKey, ThematicLink, ThematicMessage

if TYPE_CHECKING:
    from gateway.services.exchange import WriteUnit

K = ThematicMessageKind


def file_location(file_id: str) -> str:
    return f"/v1/thematic-files/{file_id}"


def message_location(file_id: str, message_id: str) -> str:
    return f"{file_location(file_id)}/messages/{message_id}"


@dataclass(frozen=True)
class KeyedFile:
    file: ThematicFile
    data_key: bytes

    @property
    def held(self) -> ThematicFile:
        return self.file


def open_file(unit: WriteUnit, payload: ThematicFileCreate) -> KeyedFile:
    """Either party opens it with the other; each side's unit is named or routed by region."""
    session, opener, evidence = unit.session, unit.caller, unit.evidence
    wanted = Role.RESPONDENT if opener.role is Role.MEDIATOR else Role.MEDIATOR
    other = unit.runtime.directory.by_id.get(payload.counterpart_id)
    if other is None or other.role != wanted:
        raise ProblemError("unknown-counterpart", f"counterpart_id names no active {wanted.value} institution",
                           errors=[{"pointer": "#/counterpart_id", "detail": f"not a {wanted.value}", "code": "unknown_counterpart"}])
    mediator, respondent = (opener, other) if opener.role is Role.MEDIATOR else (other, opener)
    region = payload.project.region
    units = {
        "mediator_unit": (mediator, payload.mediator_unit),
        "respondent_unit": (respondent, payload.respondent_unit),
    }
    chosen = {field: own_unit(unit, named, region, field) if party is opener else named_or_routed(unit, party.id, named, region, field)
              for field, (party, named) in units.items()}
    now = datetime.now(UTC)
    file = ThematicFile(
        id=str(uuid.uuid4()), mediator_id=mediator.id, respondent_id=respondent.id,
        mediator_unit=chosen["mediator_unit"].id, respondent_unit=chosen["respondent_unit"].id, opened_by=opener.id,
        status=ThematicStatus.OPEN.value, subject=payload.subject.value, project_name=payload.project.name,
        project_city=payload.project.city, project_region=region.value, opened_at=now, updated_at=now, version=1,
        signature=evidence.signature if evidence else None,
    )
    session.add(file)
    narrative = {"title": payload.title, "description": payload.description}
    data_key = unit.vault.seal_thematic_file(session, file, narrative, evidence.body if evidence else None)
    unit.publish(counterpart(file, opener.id), InboxEventKind.THEMATIC_FILE_OPENED, file)
    unit.record(case_event(file, opener, LedgerKind.THEMATIC_FILE_OPENED, detail=file.subject, location=file_location(file.id)))
    return KeyedFile(file, data_key)


_FILE_AND_KEY = by_scope(lambda seen: (
    select(ThematicFile, ThematicKey).join(ThematicKey, ThematicKey.thematic_file_id == ThematicFile.id)
    .where(ThematicFile.id == bindparam("case_id"), seen)
), ThematicFile)
_FILE_TO_CHANGE = {scope: statement.with_for_update(key_share=True, of=ThematicFile) for scope, statement in _FILE_AND_KEY.items()}


def read_file(session: Session, vault: Vault, caller: Party, file_id: str, *, with_messages: bool = False) -> KeyedFile:
    """The file and its key, if `caller` sees it (with its messages, if asked); else 404, as for a missing one."""
    statement = _FILE_AND_KEY[caller.unit.head_office]
    return _keyed(session, vault, statement.options(selectinload(ThematicFile.messages)) if with_messages else statement, caller, file_id)


def lock_file(session: Session, vault: Vault, caller: Party, file_id: str) -> KeyedFile:
    return _keyed(session, vault, _FILE_TO_CHANGE[caller.unit.head_office], caller, file_id)


def _keyed(session: Session, vault: Vault, statement, caller: Party, file_id: str) -> KeyedFile:
    return KeyedFile(*with_key(session, vault, statement, caller, file_id, "thematic file"))


def messages_of(session: Session, file: ThematicFile) -> list[ThematicMessage]:
    statement = select(ThematicMessage).where(ThematicMessage.thematic_file_id == file.id).order_by(ThematicMessage.position)
    return list(session.execute(statement).scalars())


@dataclass(frozen=True)
class Posted:
    file: ThematicFile
    message: ThematicMessage
    data_key: bytes


def post_message(unit: WriteUnit, file_id: str, payload: ThematicMessageCreate) -> Posted:
    """Add a message and apply the status change the table says, holding the file's lock."""
    session, sender, evidence = unit.session, unit.caller, unit.evidence
    keyed = lock_file(session, unit.vault, sender, file_id)
    file = keyed.file
    before = ThematicStatus(file.status)
    after = transition(thematic.RULES, payload.kind, Role(sender.role), before, "thematic file")
    now = datetime.now(UTC)
    if payload.due_date is not None:
        require_future(payload.due_date, now, "due_date")
    commitment = _open_commitment(session, file, payload.commitment_id) if payload.commitment_id else None
    position = session.execute(select(func.coalesce(func.max(ThematicMessage.position), 0) + 1)
                               .where(ThematicMessage.thematic_file_id == file.id)).scalar_one()
    message = ThematicMessage(
        id=str(uuid.uuid4()), thematic_file_id=file.id, position=position, kind=payload.kind.value, sender_id=sender.id,
        sender_unit=sender.unit_id, due_date=payload.due_date, commitment_id=payload.commitment_id, fulfils=payload.fulfils,
        status_before=before.value, status_after=after.value, created_at=now, signature=evidence.signature if evidence else None,
    )
    unit.vault.seal_message(keyed.data_key, message, payload.body, evidence.body if evidence else None)
    session.add(message)
    session.flush()
    if commitment is not None and payload.fulfils:
        commitment.fulfilled_by = message.id
        message.late_seconds = seconds_late(commitment.due_date, now)
    file.status, file.updated_at, file.version = after.value, now, file.version + 1
    recipient = counterpart(file, sender.id)
    unit.publish(recipient, InboxEventKind.THEMATIC_MESSAGE_RECEIVED, file, message)
    if after != before:
        unit.publish(recipient, InboxEventKind.STATUS_CHANGED, file, message)
    unit.record(case_event(
        file, sender, LedgerKind.THEMATIC_MESSAGE_SENT, detail=thematic.ledger_detail(payload.kind, payload.fulfils),
        location=message_location(file.id, message.id), due=payload.due_date,
        refers=message_location(file.id, commitment.id) if commitment else None,
    ))
    return Posted(file, message, keyed.data_key)


def _open_commitment(session: Session, file: ThematicFile, commitment_id: str) -> ThematicMessage:
    """The commitment a progress report is on: one of this file's, not fulfilled yet."""
    commitment = session.get(ThematicMessage, commitment_id)
    if commitment is None or commitment.thematic_file_id != file.id or commitment.kind != K.COMMITMENT.value:
        raise ProblemError("unknown-commitment", "commitment_id names no commitment of this thematic file",
                           errors=[{"pointer": "#/commitment_id", "detail": "not a commitment of this file", "code": "unknown_commitment"}])
    if commitment.fulfilled_by is not None:
        raise ProblemError("commitment-fulfilled", f"that commitment was fulfilled by {commitment.fulfilled_by}",
                           fulfilled_by=commitment.fulfilled_by)
    return commitment


def link(unit: WriteUnit, file_id: str, case_id: str) -> ThematicFile:
    """Link a case the caller sees, between the file's two institutions, to an open file."""
    session, caller = unit.session, unit.caller
    file, case = _file_and_case(unit, file_id, case_id)
    if (case.mediator_id, case.respondent_id) != (file.mediator_id, file.respondent_id):
        raise ProblemError("link-refused", "a thematic file links only cases between its own two institutions")
    if session.get(ThematicLink, (file.id, case.id)) is not None:
        raise ProblemError("link-refused", "that case is linked to this thematic file already")
    session.add(ThematicLink(thematic_file_id=file.id, case_id=case.id, linked_by=caller.unit_id, linked_at=datetime.now(UTC)))
    _changed_links(unit, file, case.id, InboxEventKind.CASE_LINKED, LedgerKind.CASE_LINKED)
    return file


def unlink(unit: WriteUnit, file_id: str, case_id: str) -> ThematicFile:
    file, case = _file_and_case(unit, file_id, case_id)
    removed = unit.session.execute(delete(ThematicLink).where(ThematicLink.thematic_file_id == file.id, ThematicLink.case_id == case.id))
    if removed.rowcount == 0:
        raise ProblemError("link-refused", "that case is not linked to this thematic file")
    _changed_links(unit, file, case.id, InboxEventKind.CASE_UNLINKED, LedgerKind.CASE_UNLINKED)
    return file


def _file_and_case(unit: WriteUnit, file_id: str, case_id: str):
    """The open file, locked, and the case, both seen by the caller (else 404, as missing ones)."""
    file = lock_file(unit.session, unit.vault, unit.caller, file_id).file
    case = get_case(unit.session, unit.caller, case_id)
    if file.status == ThematicStatus.CLOSED.value:
        raise ProblemError("link-refused", "a closed thematic file keeps the cases it had")
    return file, case


def _changed_links(unit: WriteUnit, file: ThematicFile, case_id: str, inbox_kind: InboxEventKind, kind: LedgerKind) -> None:
    file.updated_at, file.version = datetime.now(UTC), file.version + 1
    unit.publish(counterpart(file, unit.caller.id), inbox_kind, file)
    unit.record(case_event(file, unit.caller, kind, refers=case_location(case_id)))


def links_of(session: Session, file_id: str) -> list[ThematicLink]:
    statement = select(ThematicLink).where(ThematicLink.thematic_file_id == file_id).order_by(ThematicLink.linked_at, ThematicLink.case_id)
    return list(session.execute(statement).scalars())


def linked_files(session: Session, caller: Party, case_id: str) -> list[str]:
    """The thematic files `caller` sees that the case is linked to."""
    statement = (
        select(ThematicLink.thematic_file_id).join(ThematicFile, ThematicFile.id == ThematicLink.thematic_file_id)
        .where(ThematicLink.case_id == case_id, seen_by(caller.unit.head_office, scope(caller), ThematicFile))
        .order_by(ThematicLink.linked_at, ThematicLink.thematic_file_id)
    )
    return list(session.execute(statement).scalars())


def _overdue_commitment(now: datetime):
    """The condition that a file has a commitment past its due date and not fulfilled."""
    return exists().where(
        ThematicMessage.thematic_file_id == ThematicFile.id, ThematicMessage.kind == K.COMMITMENT.value,
        ThematicMessage.fulfilled_by.is_(None), ThematicMessage.due_date < now,
    )


def overdue_files(session: Session, files: list[ThematicFile], now: datetime) -> set[str]:
    """Which of these files have an overdue commitment, in one query."""
    if not files:
        return set()
    statement = select(ThematicFile.id).where(ThematicFile.id.in_([file.id for file in files]), _overdue_commitment(now))
    return set(session.execute(statement).scalars())


@dataclass(frozen=True)
class FileFilter:
    status: ThematicStatus | None = None
    overdue: bool | None = None
    project: str | None = None  # the project's name, exactly
    region: Region | None = None
    unit: str | None = None  # held by this unit, on either side


def list_files(session: Session, caller: Party, filters: FileFilter, after: CaseCursor | None, limit: int) -> list[ThematicFile]:
    statement: Select = select(ThematicFile).where(seen_by(caller.unit.head_office, scope(caller), ThematicFile))
    if filters.status is not None:
        statement = statement.where(ThematicFile.status == filters.status.value)
    if filters.project is not None:
        statement = statement.where(ThematicFile.project_name == filters.project)
    if filters.region is not None:
        statement = statement.where(ThematicFile.project_region == filters.region.value)
    if filters.unit is not None:
        statement = statement.where(or_(ThematicFile.mediator_unit == filters.unit, ThematicFile.respondent_unit == filters.unit))
    if filters.overdue is not None:
        late = _overdue_commitment(datetime.now(UTC))
        statement = statement.where(late if filters.overdue else ~late)
    if after is not None:
        statement = statement.where(or_(ThematicFile.opened_at > after.opened_at,
                                        and_(ThematicFile.opened_at == after.opened_at, ThematicFile.id > after.id)))
    return list(session.execute(statement.order_by(ThematicFile.opened_at, ThematicFile.id).limit(limit)).scalars())
