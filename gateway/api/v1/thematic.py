"""Thematic files: opened by either party, their messages, and the cases linked to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CaseParty, SessionDep, SettingsDep, VaultDep, WriteExchange
from gateway.api.responses import PROBLEM_RESPONSES
from gateway.api.pagination import next_opening_cursor, opening_cursor
from gateway.api.v1.cases import evidence_out, one_of
from imr_alomrane_gateway_client.contract.cases import HousingProjectOut
from imr_alomrane_gateway_client.contract.common import InstitutionId, Page
from imr_alomrane_gateway_client.contract.thematic import (
    CommitmentOut,
    LinkedCaseOut,
    ThematicFileCreate,
    ThematicFileDetail,
    ThematicFileSummary,
    ThematicMessageCreate,
    ThematicMessageOut,
)
from gateway.domain import lifecycle, thematic
from gateway.domain.party import Party
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import ThematicMessageKind, ThematicStatus
from gateway.services import thematic as service
from gateway.services.cases import case_region
from gateway.services.exchange import Answer, WriteUnit
from gateway.services.vault import Vault
from gateway.storage.models import ThematicFile, ThematicMessage

router = APIRouter(prefix="/thematic-files", tags=["thematic files"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)


def _summary_fields(file: ThematicFile, caller: Party, overdue: bool) -> dict:
    return dict(
        id=file.id, mediator_id=file.mediator_id, respondent_id=file.respondent_id, mediator_unit=file.mediator_unit,
        respondent_unit=file.respondent_unit, opened_by=file.opened_by, region=case_region(file), status=file.status,
        subject=file.subject, project=HousingProjectOut(name=file.project_name, city=file.project_city, region=case_region(file)),
        opened_at=file.opened_at, updated_at=file.updated_at, version=file.version, overdue=overdue,
        allowed_kinds=lifecycle.allowed_kinds(caller.role, ThematicStatus(file.status), thematic.RULES),
    )


def message_out(message: ThematicMessage, data_key: bytes) -> ThematicMessageOut:
    body, signed_body = Vault.open_message(data_key, message)
    computed = {"body": body, "signed_request": evidence_out(message.signature, signed_body)}
    return ThematicMessageOut.model_validate(
        {**{name: getattr(message, name) for name in ThematicMessageOut.model_fields if name not in computed}, **computed}
    )


def _commitments(messages: list[ThematicMessage], now: datetime) -> list[CommitmentOut]:
    return [
        CommitmentOut(id=message.id, due_date=message.due_date, fulfilled=message.fulfilled_by is not None,
                      fulfilled_by=message.fulfilled_by,
                      overdue=thematic.is_overdue(message.due_date, message.fulfilled_by is not None, now))
        for message in messages if message.kind == ThematicMessageKind.COMMITMENT.value
    ]


def file_detail(session: Session, keyed: service.KeyedFile, messages: list[ThematicMessage], caller: Party) -> ThematicFileDetail:
    file, data_key = keyed.file, keyed.data_key
    narrative, signed_body = Vault.thematic_content(data_key, file)
    commitments = _commitments(messages, datetime.now(UTC))
    return ThematicFileDetail(
        **_summary_fields(file, caller, any(commitment.overdue for commitment in commitments)),
        title=narrative["title"], description=narrative["description"],
        cases=[LinkedCaseOut.model_validate(link, from_attributes=True) for link in service.links_of(session, file.id)],
        commitments=commitments, messages=[message_out(message, data_key) for message in messages],
        signed_request=evidence_out(file.signature, signed_body),
    )


@router.post("", status_code=201, summary="Open a thematic file with the other party (mediator or respondent)",
             response_model=ThematicFileDetail)
async def open_file(payload: ThematicFileCreate, caller: CaseParty, exchange: WriteExchange) -> Response:
    def work(unit: WriteUnit) -> Answer:
        keyed = service.open_file(unit, payload)
        return Answer(201, file_detail(unit.session, keyed, [], caller))

    return await exchange.run(work)


@router.get("", summary="Thematic files you are a party to")
def list_files(
    request: Request,
    response: Response,
    caller: CaseParty,
    session: SessionDep,
    settings: SettingsDep,
    status: ThematicStatus | None = None,
    overdue: Annotated[bool | None, Query(description="Has (or has not) an overdue commitment.")] = None,
    project: Annotated[str | None, Query(max_length=200, description="The project's name, exactly.")] = None,
    region: Region | None = None,
    unit: Annotated[InstitutionId | None, Query(description="Held by this unit (on either side).")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Page[ThematicFileSummary]:
    size = min(limit or settings.page_size_default, settings.page_size_max)
    after = opening_cursor(cursor) if cursor else None
    filters = service.FileFilter(status=status, overdue=overdue, project=project, region=region, unit=unit)
    rows = service.list_files(session, caller, filters, after, size + 1)
    late = service.overdue_files(session, rows[:size], datetime.now(UTC))
    page = [ThematicFileSummary(**_summary_fields(file, caller, file.id in late)) for file in rows[:size]]
    return Page[ThematicFileSummary](items=page, next_cursor=next_opening_cursor(request, response, rows, size))


@router.get("/{file_id}", summary="A thematic file with its linked cases, commitments and messages", response_model=ThematicFileDetail)
def get_file(file_id: str, caller: CaseParty, session: SessionDep, vault: VaultDep) -> ThematicFileDetail:
    keyed = service.read_file(session, vault, caller, file_id, with_messages=True)
    return file_detail(session, keyed, keyed.file.messages, caller)


@router.post(
    "/{file_id}/messages",
    status_code=201,
    summary="Send a message; its kind drives the thematic file's status",
    response_model=ThematicMessageOut,
    description="Kinds, senders and the status changes they drive:\n\n" + lifecycle.described(thematic.RULES)
    + "\n\nA commitment needs a future `due_date`; a progress report names its `commitment_id` and whether it `fulfils` it.",
)
async def post_message(file_id: str, payload: ThematicMessageCreate, caller: CaseParty, exchange: WriteExchange) -> Response:
    def work(unit: WriteUnit) -> Answer:
        posted = service.post_message(unit, file_id, payload)
        return Answer(201, message_out(posted.message, posted.data_key))

    return await exchange.run(work)


@router.get("/{file_id}/messages/{message_id}", summary="One message of a thematic file")
def get_message(file_id: str, message_id: str, caller: CaseParty, session: SessionDep, vault: VaultDep) -> ThematicMessageOut:
    keyed = service.read_file(session, vault, caller, file_id, with_messages=True)
    return message_out(one_of(keyed.file.messages, message_id, "thematic file"), keyed.data_key)


def _relinked(change, file_id: str, case_id: str, caller: Party):
    """The write that links or unlinks (`change`), answered with the file as it is now."""
    def work(unit: WriteUnit) -> Answer:
        change(unit, file_id, case_id)
        keyed = service.read_file(unit.session, unit.vault, caller, file_id, with_messages=True)
        return Answer(200, file_detail(unit.session, keyed, keyed.file.messages, caller))

    return work


@router.put("/{file_id}/cases/{case_id}", summary="Link a case (of the same two institutions) to the thematic file",
            response_model=ThematicFileDetail)
async def link_case(file_id: str, case_id: str, caller: CaseParty, exchange: WriteExchange) -> Response:
    """Linking a case linked already is refused (409 `link-refused`): a retry of the same request
    with its Idempotency-Key is answered as the first time."""
    return await exchange.run(_relinked(service.link, file_id, case_id, caller))


@router.delete("/{file_id}/cases/{case_id}", summary="Unlink a case from the thematic file", response_model=ThematicFileDetail)
async def unlink_case(file_id: str, case_id: str, caller: CaseParty, exchange: WriteExchange) -> Response:
    """Unlinking a case not linked is refused (409 `link-refused`), like linking one twice."""
    return await exchange.run(_relinked(service.unlink, file_id, case_id, caller))
