"""The ledger for auditors (everything) and institutions (their own entries, and every proof)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import Auditor, CurrentInstitution, DatabaseDep, KeyRingDep, SessionDep, SettingsDep, WriteExchange
from gateway.api.pagination import MAX_POSITION, decode_position, encode_position, next_link
from imr_alomrane_gateway_client.contract.common import InstitutionId, Page, Timestamp
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.api.responses import PROBLEM_RESPONSES
from imr_alomrane_gateway_client.contract.ledger import (
    CheckpointOut, CosignatureIn, ConsistencyProofOut, EntryOut, InclusionProofOut, LedgerKeyOut, Month, ProcessingStatisticsOut,
)
from imr_alomrane_gateway_client.regions import Region
from gateway.ledger.stats import Scope
from gateway.ledger.store import b64, entry_from_row
from gateway.problems import ProblemError
from gateway.services import ledger as service
from gateway.services.exchange import Answer, WriteUnit

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)
MAX_ENTRIES = 1000
Index = Annotated[int, Query(ge=0, le=MAX_POSITION)]
Size = Annotated[int, Query(ge=1, le=MAX_POSITION)]


@router.get("/key", summary="The checkpoint signer's C2SP verifier key")
def key(caller: CurrentInstitution, keys: KeyRingDep) -> LedgerKeyOut:
    ledger = keys.ledger
    return LedgerKeyOut(origin=ledger.origin, note_key=ledger.signer.verifier.key_string)


@router.get("/checkpoint", summary="The latest signed checkpoint (or the one of a given size)")
def checkpoint(caller: CurrentInstitution, session: SessionDep, keys: KeyRingDep, size: Index | None = None) -> CheckpointOut:
    """Size 0, and an empty ledger's latest, is the empty tree's checkpoint (root: the SHA-256 of nothing)."""
    found, note = service.checkpoint(session, keys.ledger, size)
    return CheckpointOut(size=found, note=note)


@router.post("/cosignatures", status_code=201, summary="Add your witness cosignature to a checkpoint", response_model=CheckpointOut)
async def cosign(payload: CosignatureIn, caller: CurrentInstitution, exchange: WriteExchange, keys: KeyRingDep) -> Response:
    """Check consistency with the last checkpoint you cosigned before cosigning (C2SP tlog-cosignature)."""
    def work(unit: WriteUnit) -> Answer:
        size, note = service.add_cosignature(unit.session, caller, keys.witnesses.get(caller.id, []), payload.size, payload.cosignature)
        return Answer(201, CheckpointOut(size=size, note=note))

    return await exchange.run(work)


@router.get("/entries", summary="Entries with index in [start, end)")
def entries(
    caller: CurrentInstitution, session: SessionDep, start: Index = 0, end: Size | None = None,
) -> list[EntryOut]:
    end = start + MAX_ENTRIES if end is None else end
    if end <= start or end - start > MAX_ENTRIES:
        raise ProblemError("validation-failed", f"ask for 1 to {MAX_ENTRIES} entries",
                           errors=[{"parameter": "end", "detail": f"must be in (start, start + {MAX_ENTRIES}]", "code": "range"}])
    return [
        EntryOut(index=row.seq - 1, leaf_hash=row.leaf_hash, entry=entry_from_row(row).as_dict())
        for row in service.entries(session, caller, start, end)
    ]


@router.get("/search", summary="Entries by case, institution, unit, region, kind and time range, oldest first")
def search(
    request: Request, response: Response, caller: CurrentInstitution, session: SessionDep, settings: SettingsDep,
    case: Annotated[str | None, Query(max_length=36)] = None, institution: InstitutionId | None = None,
    unit: Annotated[InstitutionId | None, Query(description="Sent or received by this unit.")] = None,
    region: Annotated[Region | None, Query(description="About a case or thematic file in this region.")] = None,
    kind: Annotated[str | None, Query(pattern="^[a-z_]{1,40}$")] = None, since: Timestamp | None = None,
    until: Timestamp | None = None, cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> Page[EntryOut]:
    size = min(limit or settings.page_size_default, settings.page_size_max)
    after = decode_position(cursor)
    filters = service.EntryFilter(case, institution, unit, region and region.value, kind, since and timestamp(since),
                                  until and timestamp(until))
    rows = service.search(session, caller, filters, after, size + 1)
    items = [EntryOut(index=row.seq - 1, leaf_hash=row.leaf_hash, entry=entry_from_row(row).as_dict()) for row in rows[:size]]
    next_cursor = encode_position(rows[size - 1].seq) if len(rows) > size else None
    response.headers.update(next_link(request, "cursor", next_cursor))
    return Page[EntryOut](items=items, next_cursor=next_cursor)


@router.get("/statistics", summary="Processing times computed from the ledger alone (auditors), as `gateway report` computes them")
def processing_statistics(
    caller: Auditor, settings: SettingsDep, database: DatabaseDep, reply_days: Annotated[int | None, Query(ge=1, le=365)] = None,
    unit: InstitutionId | None = None, region: Region | None = None,
    from_month: Annotated[Month | None, Query(alias="from")] = None, to_month: Annotated[Month | None, Query(alias="to")] = None,
) -> ProcessingStatisticsOut:
    try:
        scope = Scope(unit, region, from_month, to_month)
    except ValueError as reversed_months:
        raise ProblemError("validation-failed", str(reversed_months),
                           errors=[{"parameter": "from", "detail": str(reversed_months), "code": "range"}]) from None
    return service.processing_statistics(database, reply_days or settings.default_reply_days, datetime.now(UTC), scope)


@router.get("/proof/inclusion", summary="Inclusion proof of an entry (by index or leaf hash) in the tree of a given size")
def inclusion_proof(
    caller: CurrentInstitution, session: SessionDep, size: Size, index: Index | None = None, leaf_hash: Annotated[str | None, Query(pattern="^[0-9a-fA-F]{64}$")] = None,
) -> InclusionProofOut:
    if (index is None) == (leaf_hash is None):
        raise ProblemError("validation-failed", "give index or leaf_hash",
                           errors=[{"parameter": "index", "detail": "give exactly one of index and leaf_hash", "code": "one_of"}])
    found, leaf, proof = service.inclusion(session, caller, size, index, leaf_hash)
    return InclusionProofOut(index=found, size=size, leaf_hash=leaf, proof=b64(proof))


@router.get("/export", summary="The whole ledger as JSON Lines (auditors), resumable from an index",
            response_class=StreamingResponse, responses={200: {"content": {"application/jsonl": {}}}})
def export(caller: Auditor, keys: KeyRingDep, database: DatabaseDep, start: Index = 0) -> StreamingResponse:
    ledger = keys.ledger
    lines = service.export_lines(database, ledger.origin, ledger.signer.verifier.key_string, start)
    return StreamingResponse(lines, media_type="application/jsonl")


@router.get("/proof/consistency", summary="Consistency proof between two tree sizes")
def consistency_proof(
    caller: CurrentInstitution, session: SessionDep, first: Size, second: Size,
) -> ConsistencyProofOut:
    return ConsistencyProofOut(first=first, second=second, proof=b64(service.consistency(session, first, second)))
