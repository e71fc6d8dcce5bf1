"""Receipts the gateway signs: that it accepted a request (non-repudiation of origin, for the
sender), and that the recipient took delivery (non-repudiation of receipt)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.contract.common import utc_text
from gateway.domain.party import Party
from gateway.problems import ProblemError
from gateway.security.keys import KeyRing
from imr_alomrane_gateway_client.signing import RECEIPT_TYPE, content_digest
from gateway.services.cases import seen_by
from gateway.storage.models import Case, Receipt, ThematicFile

ACCEPTANCE = "acceptance"
DELIVERY = "delivery"
_INSERT = insert(Receipt.__table__)


@dataclass(frozen=True)
class Issued:
    id: str
    token: str


def issue(
    session: Session, keys: KeyRing, *, kind: str, case_id: str, resource: str, sender_id: str, counterpart_id: str,
    signature: str, thematic: bool = False, **claims: Any,
) -> Issued:
    """Sign and store a receipt in the caller's transaction, so it exists exactly when the event does.
    Its `case` claim is the case, or the thematic file (`thematic`), the write was about."""
    now = datetime.now(UTC)
    receipt_id = str(uuid.uuid4())
    token = keys.receipt_signer.sign(
        receipt_claims(keys.gateway_id, kind=kind, receipt_id=receipt_id, case_id=case_id, resource=resource, signature=signature,
                       now=now, **claims),
        RECEIPT_TYPE,
    )
    session.connection().execute(_INSERT, {
        "id": receipt_id, "kind": kind, "case_id": None if thematic else case_id, "thematic_file_id": case_id if thematic else None,
        "resource": resource, "sender_id": sender_id,
        "counterpart_id": counterpart_id, "token": token, "created_at": now,
    })
    return Issued(receipt_id, token)


def receipt_claims(gateway_id: str, *, kind: str, receipt_id: str, case_id: str, resource: str, signature: str, now: datetime,
                   **claims: Any) -> dict[str, Any]:
    """A receipt's claim set, given its id and time (pure: the conformance vectors are made with it)."""
    return {
        "iss": gateway_id, "rid": receipt_id, "kind": kind, "case": case_id, "resource": resource,
        "sig_dig": content_digest(signature.encode()), "iat": int(now.timestamp()), "at": utc_text(now), **claims,
    }


def _party(caller: Party):
    """A head office sees its institution's receipts; a regional unit, those of the cases and
    thematic files it holds."""
    if caller.unit.head_office:
        return or_(Receipt.sender_id == caller.id, Receipt.counterpart_id == caller.id)
    return or_(Receipt.case_id.in_(select(Case.id).where(seen_by(False, caller.unit_id))),
               Receipt.thematic_file_id.in_(select(ThematicFile.id).where(seen_by(False, caller.unit_id, ThematicFile))))


def get(session: Session, caller: Party, receipt_id: str) -> Receipt:
    receipt = session.execute(select(Receipt).where(Receipt.id == receipt_id, _party(caller))).scalar_one_or_none()
    if receipt is None:
        raise ProblemError("not-found", "no such receipt among yours")
    return receipt


def acceptance_of(session: Session, resource: str, sender_id: str) -> Receipt | None:
    """The acceptance receipt first given for a write on `resource` by `sender_id`."""
    statement = (
        select(Receipt).where(Receipt.resource == resource, Receipt.sender_id == sender_id, Receipt.kind == ACCEPTANCE)
        .order_by(Receipt.created_at).limit(1)
    )
    return session.execute(statement).scalar_one_or_none()


def for_resource(session: Session, caller: Party, resource: str) -> list[Receipt]:
    statement = select(Receipt).where(Receipt.resource == resource, _party(caller)).order_by(Receipt.created_at, Receipt.id)
    return list(session.execute(statement).scalars())
