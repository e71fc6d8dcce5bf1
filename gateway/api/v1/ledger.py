"""The ledger for auditors (everything) and institutions (their own entries, and every proof)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import Auditor, CurrentInstitution, DatabaseDep, KeyRingDep, PublicReader, SessionDep, SettingsDep, WriteExchange
from gateway.api.pagination import MAX_POSITION, decode_position, encode_position, next_link
from imr_alomrane_gateway_client.contract.common import InstitutionId, Page, Timestamp
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.api.openapi import described
from gateway.api.openapi.operations import NOTE_MEDIA_TYPE
from imr_alomrane_gateway_client.contract.ledger import (
    CheckpointOut, CosignatureIn, ConsistencyProofOut, EntryOut, InclusionProofOut, LedgerKeyOut, Month, ProcessingStatisticsOut,
)
from imr_alomrane_gateway_client.regions import Region
from gateway.ledger.stats import Scope
from gateway.ledger.store import b64, entry_from_row
from gateway.problems import ProblemError
from gateway.services import ledger as service
from gateway.services.exchange import Answer, WriteUnit

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=StrictJsonRoute)
MAX_ENTRIES = 1000
Index = Annotated[int, Query(ge=0, le=MAX_POSITION)]
Size = Annotated[int, Query(ge=1, le=MAX_POSITION)]


@router.get("/key", **described("getLedgerKey"))
def key(caller: PublicReader, keys: KeyRingDep) -> LedgerKeyOut:
    ledger = keys.ledger
    return LedgerKeyOut(origin=ledger.origin, note_key=ledger.signer.verifier.key_string)


@router.get("/checkpoint", **described("getCheckpoint"))
def checkpoint(request: Request, response: Response, caller: PublicReader, session: SessionDep, keys: KeyRingDep,
               size: Index | None = None) -> CheckpointOut:
    """JSON by default; with `Accept: text/plain` the signed note itself, its exact bytes, as a static
    log serves its `checkpoint` (C2SP tlog-checkpoint): what a verifier saves and checks. Size 0, and an
    empty ledger's latest, is the empty tree's checkpoint (root: the SHA-256 of nothing)."""
    found, note = service.checkpoint(session, keys.ledger, size)
    if prefers_note(request.headers.get("accept", "")):
        return Response(note, media_type=NOTE_MEDIA_TYPE, headers={"Vary": "Accept"})  # type: ignore[return-value]
    response.headers["Vary"] = "Accept"
    return CheckpointOut(size=found, note=note)


def prefers_note(accept: str) -> bool:
    """Whether the Accept header ranks text/plain above application/json (RFC 9110 §12.5.1: each
    type takes the quality of the most specific range that matches it; a tie keeps JSON)."""
    ranges: dict[str, float] = {}
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_range:
            ranges[media_range.lower()] = max(quality, ranges.get(media_range.lower(), 0.0))

    def quality_of(media_type: str) -> float:
        kind = media_type.split("/")[0]
        return next((ranges[name] for name in (media_type, f"{kind}/*", "*/*") if name in ranges), 0.0)

    text = quality_of("text/plain")
    return text > 0 and text > quality_of("application/json")


@router.post("/cosignatures", status_code=201, **described("addCosignature"), response_model=CheckpointOut)
async def cosign(payload: CosignatureIn, caller: CurrentInstitution, exchange: WriteExchange, keys: KeyRingDep) -> Response:
    """Check consistency with the last checkpoint you cosigned before cosigning (C2SP tlog-cosignature)."""
    def work(unit: WriteUnit) -> Answer:
        size, note = service.add_cosignature(unit.session, caller, keys.witnesses.get(caller.id, []), payload.size, payload.cosignature)
        return Answer(201, CheckpointOut(size=size, note=note))

    return await exchange.run(work)


@router.get("/entries", **described("listEntries"))
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


@router.get("/search", **described("searchEntries"))
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


@router.get("/statistics", **described("getStatistics"))
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


@router.get("/proof/inclusion", **described("getInclusionProof"))
def inclusion_proof(
    caller: CurrentInstitution, session: SessionDep, size: Size, index: Index | None = None, leaf_hash: Annotated[str | None, Query(pattern="^[0-9a-fA-F]{64}$")] = None,
) -> InclusionProofOut:
    if (index is None) == (leaf_hash is None):
        raise ProblemError("validation-failed", "give index or leaf_hash",
                           errors=[{"parameter": "index", "detail": "give exactly one of index and leaf_hash", "code": "one_of"}])
    found, leaf, proof = service.inclusion(session, caller, size, index, leaf_hash)
    return InclusionProofOut(index=found, size=size, leaf_hash=leaf, proof=b64(proof))


@router.get("/export", response_class=StreamingResponse, **described("exportLedger"))
def export(caller: Auditor, keys: KeyRingDep, database: DatabaseDep, start: Index = 0) -> StreamingResponse:
    ledger = keys.ledger
    lines = service.export_lines(database, ledger.origin, ledger.signer.verifier.key_string, start)
    return StreamingResponse(lines, media_type="application/jsonl")


@router.get("/proof/consistency", **described("getConsistencyProof"))
def consistency_proof(
    caller: CurrentInstitution, session: SessionDep, first: Size, second: Size,
) -> ConsistencyProofOut:
    return ConsistencyProofOut(first=first, second=second, proof=b64(service.consistency(session, first, second)))
