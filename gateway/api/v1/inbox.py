"""The caller's inbox: events in order, resumable by cursor, acknowledged on delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CaseParty, RuntimeDep, SessionDep, SettingsDep, WriteExchange
from gateway.api.pagination import decode_position, encode_position, next_link
from gateway.api.openapi import described
from gateway.contract.common import InstitutionId, Page
from gateway.contract.inbox import InboxEventOut
from gateway.services import inbox as service
from gateway.services.exchange import Answer, WriteUnit

router = APIRouter(prefix="/inbox", tags=["inbox"], route_class=StrictJsonRoute)


@router.get("", **described("listInboxEvents"))
def list_events(
    request: Request,
    response: Response,
    caller: CaseParty,
    session: SessionDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    after: Annotated[str | None, Query(max_length=500, description="The `next_cursor` of the previous page.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    unit: Annotated[InstitutionId | None, Query(description="A head office reads one of its units' inboxes (each has its own seq).")] = None,
) -> Page[InboxEventOut]:
    size = min(limit or settings.page_size_default, settings.page_size_max)
    events = service.list_events(session, service.inbox_of(caller, unit, runtime.directory), decode_position(after), size)
    items = [InboxEventOut.model_validate(event, from_attributes=True) for event in events]
    # Always hand back a cursor: the inbox is a stream, and the next poll resumes from it.
    position = items[-1].seq if items else decode_position(after)
    next_cursor = encode_position(position)
    if len(items) == size:
        response.headers.update(next_link(request, "after", next_cursor))
    return Page[InboxEventOut](items=items, next_cursor=next_cursor)


@router.post("/{event_id}/ack", **described("acknowledgeEvent"), response_model=InboxEventOut)
async def acknowledge(event_id: str, caller: CaseParty, exchange: WriteExchange) -> Response:
    """The first acknowledgement records the delivery (a ledger entry, a receipt, and a delivery
    receipt for the sender); acknowledging again answers the same, with the first receipt."""
    def work(unit: WriteUnit) -> Answer:
        event = service.acknowledge(unit, event_id, exchange.write.target)
        return Answer(200, InboxEventOut.model_validate(event, from_attributes=True))

    return await exchange.run(work)
