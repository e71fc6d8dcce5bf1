"""Receipts, for the two parties they concern."""

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.api.bodies import StrictJsonRoute
from gateway.api.deps import CaseParty, SessionDep
from gateway.api.responses import PROBLEM_RESPONSES
from imr_alomrane_gateway_client.contract.receipts import ReceiptOut
from gateway.services import receipts as service

router = APIRouter(prefix="/receipts", tags=["receipts"], responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)


@router.get("", summary="Receipts about one resource (e.g. a message you sent)")
def list_receipts(resource: Annotated[str, Query(min_length=1, max_length=300)], caller: CaseParty, session: SessionDep) -> list[ReceiptOut]:
    return [ReceiptOut.model_validate(receipt, from_attributes=True) for receipt in service.for_resource(session, caller, resource)]


@router.get("/{receipt_id}", summary="One receipt")
def get_receipt(receipt_id: str, caller: CaseParty, session: SessionDep) -> ReceiptOut:
    return ReceiptOut.model_validate(service.get(session, caller, receipt_id), from_attributes=True)
