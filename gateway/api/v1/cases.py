"""Case files and messages. Routers stay thin: parse, call one service (a write's inside the exchange), present."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CaseParty, Mediator, SessionDep, SettingsDep, VaultDep, WriteExchange
from gateway.api.pagination import next_opening_cursor, opening_cursor
from gateway.api.responses import PROBLEM_RESPONSES, model_response
from imr_alomrane_gateway_client.contract.cases import (
    CaseCreate,
    CaseDetail,
    CaseSummary,
    Complainant,
    HousingProjectOut,
    MessageCreate,
    MessageOut,
    ProcessingTimes,
    SignedRequestOut,
    TransferCreate,
)
from imr_alomrane_gateway_client.contract.common import InstitutionId, Page, Timestamp
from gateway.domain import lifecycle
from gateway.domain.party import Party
from imr_alomrane_gateway_client.regions import Region
from imr_alomrane_gateway_client.vocabulary import CaseStatus
from gateway.problems import ProblemError
from gateway.services import cases as service
from gateway.services import thematic
from gateway.services.exchange import Answer, WriteUnit
from gateway.services.vault import Vault
from gateway.storage.models import Case, Message

router = APIRouter(prefix="/cases", tags=["cases"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)


def etag(case: Case) -> str:
    return f'"{case.id}.{case.version}"'


_VERSION = re.compile(r"[0-9]{1,18}")  # ASCII digits only: `str.isdigit` also takes "²"


def parse_if_match(if_match: str | None, case_id: str) -> int | None:
    """The case version an `If-Match` names; `*` and absence mean "whatever it is now"."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    owner, _, version = tag.rpartition(".")
    if owner != case_id or not _VERSION.fullmatch(version):
        return -1  # matches no version: answers 412
    return int(version)


def _summary_fields(case: Case, title: str | None, caller: Party, now: datetime) -> dict:
    status = CaseStatus(case.status)
    return dict(
        id=case.id,
        reference=case.reference,
        mediator_id=case.mediator_id,
        respondent_id=case.respondent_id,
        mediator_unit=case.mediator_unit,
        respondent_unit=case.respondent_unit,
        region=service.case_region(case),
        status=status,
        subject=case.subject,
        title=title,
        outcome=case.outcome,
        times=ProcessingTimes(
            opened_at=case.opened_at,
            acknowledged_at=case.acknowledged_at,
            answered_at=case.answered_at,
            closed_at=case.closed_at,
            deadline=case.deadline,
            overdue=lifecycle.is_overdue(status, case.deadline, now),
        ),
        updated_at=case.updated_at,
        version=case.version,
        allowed_kinds=lifecycle.allowed_kinds(caller.role, status),
    )


def evidence_out(signature: str | None, body: str | None) -> SignedRequestOut | None:
    return SignedRequestOut(signature=signature, body=body) if signature else None


def message_out(message: Message, data_key: bytes | None) -> MessageOut:
    """`data_key` is the case's (None once erased: the text is gone, the skeleton stays)."""
    body, signed_body = Vault.open_message(data_key, message)
    computed = {"body": body, "signed_request": evidence_out(message.signature, signed_body), "documents": message.document_ids or []}
    return MessageOut.model_validate(
        {**{name: getattr(message, name) for name in MessageOut.model_fields if name not in computed}, **computed}
    )


def case_detail(keyed: service.KeyedCase, messages: list[Message], caller: Party, thematic_files: list[str]) -> CaseDetail:
    case, data_key = keyed.case, keyed.data_key
    content = Vault.content(data_key, case)
    narrative = content.narrative or {}
    return CaseDetail(
        **_summary_fields(case, narrative.get("title"), caller, datetime.now(UTC)),
        complainant=Complainant.model_validate(content.complainant) if content.complainant else None,
        personal_data_erased=case.personal_data_erased_at is not None,
        summary=narrative.get("summary"),
        project=HousingProjectOut(name=case.project_name, city=case.project_city, region=service.case_region(case)),
        requested_action=narrative.get("requested_action"),
        messages=[message_out(message, data_key) for message in messages],
        signed_request=evidence_out(case.signature, content.signed_body),
        thematic_files=thematic_files,
    )


@router.post("", status_code=201, summary="Open a case file (mediator)", response_model=CaseDetail)
async def open_case(payload: CaseCreate, caller: Mediator, exchange: WriteExchange, settings: SettingsDep) -> Response:
    def work(unit: WriteUnit) -> Answer:
        keyed = service.open_case(unit, payload, settings.default_reply_days)
        return Answer(201, case_detail(keyed, [], caller, []), {"ETag": etag(keyed.case)})

    return await exchange.run(work)


@router.get("", summary="Cases you are a party to")
def list_cases(
    request: Request,
    response: Response,
    caller: CaseParty,
    session: SessionDep,
    settings: SettingsDep,
    vault: VaultDep,
    status: CaseStatus | None = None,
    counterpart: InstitutionId | None = None,
    unit: Annotated[InstitutionId | None, Query(description="Held by this unit (on either side).")] = None,
    region: Region | None = None,
    overdue: bool | None = None,
    updated_since: Timestamp | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Page[CaseSummary]:
    size = min(limit or settings.page_size_default, settings.page_size_max)
    after = opening_cursor(cursor) if cursor else None
    filters = service.CaseFilter(status=status, counterpart=counterpart, overdue=overdue, updated_since=updated_since,
                                 unit=unit, region=region)
    rows = service.list_cases(session, caller, filters, after, size + 1)
    now = datetime.now(UTC)
    titles = vault.titles(session, rows[:size])
    page = [CaseSummary(**_summary_fields(case, titles[case.id], caller, now)) for case in rows[:size]]
    return Page[CaseSummary](items=page, next_cursor=next_opening_cursor(request, response, rows, size))


@router.get("/{case_id}", summary="A case with its timeline", response_model=CaseDetail)
def get_case(case_id: str, caller: CaseParty, session: SessionDep, vault: VaultDep) -> Response:
    keyed = service.read_case(session, vault, caller, case_id, with_messages=True)
    linked = thematic.linked_files(session, caller, case_id)
    return model_response(case_detail(keyed, keyed.case.messages, caller, linked), headers={"ETag": etag(keyed.case)})


@router.post(
    "/{case_id}/messages",
    status_code=201,
    summary="Send a message; its kind drives the case's status",
    response_model=MessageOut,
    description="Kinds, senders and the status changes they drive:\n\n" + lifecycle.described(lifecycle.RULES),
    responses={410: PROBLEM_RESPONSES[404] | {"description": "The case's personal data was erased: it takes no more messages"}},
)
async def post_message(
    case_id: str,
    payload: MessageCreate,
    caller: CaseParty,
    exchange: WriteExchange,
    if_match: Annotated[str | None, Header(description="The case's ETag: refuse with 412 if it changed.")] = None,
) -> Response:
    def work(unit: WriteUnit) -> Answer:
        posted = service.post_message(unit, case_id, payload, parse_if_match(if_match, case_id))
        return Answer(201, message_out(posted.message, posted.data_key), {"ETag": etag(posted.case)})

    return await exchange.run(work)


@router.post("/{case_id}/transfer", summary="Move the case to another unit of your institution", response_model=CaseSummary)
async def transfer(case_id: str, payload: TransferCreate, caller: CaseParty, exchange: WriteExchange, vault: VaultDep) -> Response:
    """By the unit holding the case on your side, or its head office. Both units and the other
    party's unit are notified in their inboxes; the transfer is a ledger entry with its receipt."""
    def work(unit: WriteUnit) -> Answer:
        case = service.transfer(unit, case_id, payload.unit)
        title = vault.titles(unit.session, [case])[case.id]
        return Answer(200, CaseSummary(**_summary_fields(case, title, caller, datetime.now(UTC))), {"ETag": etag(case)})

    return await exchange.run(work)


@router.delete("/{case_id}/personal-data", summary="Erase the complainant's personal data (mediator): crypto-shredding",
               response_model=CaseDetail)
async def erase_personal_data(case_id: str, caller: Mediator, exchange: WriteExchange) -> Response:
    """The case's data key and ciphertexts are destroyed, its documents' bytes and names with them;
    the case keeps its non-personal skeleton (subject, dates, statuses, messages), and the erasure
    is itself a ledger entry. Erasing again changes nothing."""
    def work(unit: WriteUnit) -> Answer:
        case = service.erase_personal_data(unit, case_id)
        detail = case_detail(service.KeyedCase(case, None), service.messages_of(unit.session, case), caller,
                             thematic.linked_files(unit.session, caller, case_id))
        return Answer(200, detail, {"ETag": etag(case)})

    return await exchange.run(work)


@router.get("/{case_id}/messages/{message_id}", summary="One message")
def get_message(case_id: str, message_id: str, caller: CaseParty, session: SessionDep, vault: VaultDep) -> MessageOut:
    keyed = service.read_case(session, vault, caller, case_id, with_messages=True)
    return message_out(one_of(keyed.case.messages, message_id, "case"), keyed.data_key)


def one_of(messages: list, message_id: str, where: str):
    """The message with this id among `messages`, else 404."""
    found = next((message for message in messages if message.id == message_id), None)
    if found is None:
        raise ProblemError("not-found", f"no such message on this {where}")
    return found


