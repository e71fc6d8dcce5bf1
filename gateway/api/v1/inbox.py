"""The caller's inbox: events in order, resumable by cursor, acknowledged on delivery.

A read may wait (`wait=` seconds) for an event to commit, rather than polling: it holds its HTTP
connection (one of its certificate's GATEWAY_MAX_CONNECTIONS_PER_CERTIFICATE), but neither a
worker thread nor a database connection while it waits (gateway.storage.signals)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CaseParty, RuntimeDep, WriteExchange
from gateway.api.pagination import decode_seq, encode_position, next_link
from gateway.api.responses import PROBLEM_RESPONSES
from imr_alomrane_gateway_client.contract.common import InstitutionId, Page
from imr_alomrane_gateway_client.contract.inbox import InboxEventOut
from gateway.domain.events import Side
from gateway.problems import ProblemError
from gateway.services import inbox as service
from gateway.services.exchange import Answer, WriteUnit
from gateway.storage.engine import Database

router = APIRouter(prefix="/inbox", tags=["inbox"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)

# `after`, the inbox's former name for `cursor` (every other list says `cursor`): deprecated since
# 2026-12-01 (`Deprecation`, RFC 9745: a structured-field date), answered until the `Sunset` (RFC 8594).
AFTER_DEPRECATION = {"Deprecation": "@1796083200", "Sunset": "Sat, 31 Jul 2027 00:00:00 GMT"}
CURSOR_HELP = ("The `next_cursor` of the previous page, or the `seq` of the last event you processed (`cursor=17`: "
               "the events after seq 17).")


_HEADERS = {
    "Link": "`<…>; rel=\"next\"` while more events are waiting",
    "Deprecation": "Only when the deprecated `after` was used: `@1796083200` (RFC 9745)",
    "Sunset": "Only when the deprecated `after` was used: until when it is answered (RFC 8594)",
}


@router.get("", summary="Events addressed to your unit (or, for a head office, to one of its units), oldest first",
            responses={200: {"headers": {name: {"description": text, "schema": {"type": "string"}} for name, text in _HEADERS.items()}}})
async def list_events(
    request: Request,
    response: Response,
    caller: CaseParty,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=500, description=CURSOR_HELP)] = None,
    after: Annotated[str | None, Query(max_length=500, deprecated=True, description="The former name of `cursor`; "
                                       "answered with `Deprecation` and `Sunset` headers. Not with `cursor`.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    unit: Annotated[InstitutionId | None, Query(description="A head office reads one of its units' inboxes (each has its own seq).")] = None,
    wait: Annotated[int, Query(ge=0, le=3600, description="Seconds to wait for an event when none is there yet (long "
                               "polling): the answer comes as soon as one commits. At most GATEWAY_INBOX_MAX_WAIT_SECONDS "
                               "(30 by default); a longer wait is shortened to it.")] = 0,
) -> Page[InboxEventOut]:
    if after is not None:
        if cursor is not None:
            raise ProblemError("cursor-conflict", "give cursor only (after is its deprecated former name)",
                               errors=[{"parameter": "after", "detail": "not with cursor", "code": "cursor_conflict"}])
        cursor = after
        response.headers.update(AFTER_DEPRECATION)
    settings = runtime.settings
    inbox, position = service.inbox_of(caller, unit, runtime.directory), decode_seq(cursor)
    size = min(limit or settings.page_size_default, settings.page_size_max)
    look = partial(run_in_threadpool, _events_after, runtime.database, inbox, position, size + 1)
    events = await runtime.inbox_signals.first_found(
        inbox.unit_id, look, min(wait, settings.inbox_max_wait_seconds), settings.inbox_repoll_seconds,
    )
    # A cursor only while more events are waiting: a client that reads until it is gone has caught up.
    next_cursor = encode_position(events[size - 1].seq) if len(events) > size else None
    response.headers.update(next_link(request, "cursor", next_cursor, dropped=("after",)))
    return Page[InboxEventOut](items=events[:size], next_cursor=next_cursor)


def _events_after(database: Database, inbox: Side, position: int, limit: int) -> list[InboxEventOut]:
    """One look at the inbox, in a session of its own: no connection is held between looks."""
    with database.session(write=False) as session:
        return [InboxEventOut.model_validate(event, from_attributes=True)
                for event in service.list_events(session, inbox, position, limit)]


@router.post("/{event_id}/ack", summary="Record that an event was delivered (idempotent)", response_model=InboxEventOut)
async def acknowledge(event_id: str, caller: CaseParty, exchange: WriteExchange) -> Response:
    """The first acknowledgement records the delivery (a ledger entry, a receipt, and a delivery
    receipt for the sender); acknowledging again answers the same, with the first receipt."""
    def work(unit: WriteUnit) -> Answer:
        event = service.acknowledge(unit, event_id, exchange.write.target)
        return Answer(200, InboxEventOut.model_validate(event, from_attributes=True))

    return await exchange.run(work)
