"""The retention policy: once a case has been closed for the configured period, its personal data
is erased (crypto-shredding, as the mediator's DELETE does), and each erasure is a ledger entry.

A retention erasure is the gateway's own act, not an institution's signed request: its entry names
the gateway as sender and the mediator as recipient, its `detail` is "retention", its payload
digest covers the policy statement below, and its signature digest is that of the empty string
(there is no sender's signature; the gateway's checkpoint signature covers the entry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.vocabulary import LedgerKind
from gateway.ledger.store import Appended, Ledger, NewEntry
from imr_alomrane_gateway_client.signing import content_digest
from gateway.services.cases import Erasure, case_location, case_region, erase
from gateway.services.vault import Vault
from gateway.storage.engine import Database
from gateway.storage.models import Case

RETENTION = "retention"


@dataclass(frozen=True)
class Policy:
    days: int
    now: datetime

    @property
    def closed_before(self) -> datetime:
        return self.now - timedelta(days=self.days)

    def statement(self, case: Case) -> bytes:
        """What the ledger entry's payload digest covers."""
        return json.dumps(
            {"case": case.id, "closed_at": case.closed_at.isoformat(), "policy": f"personal data erased {self.days} days after closure",
             "applied_at": self.now.isoformat()},
            sort_keys=True, separators=(",", ":"),
        ).encode()


def due(database: Database, policy: Policy) -> list[str]:
    """Cases closed before the policy's cut-off whose personal data is still there."""
    with database.session(write=False) as session:
        statement = select(Case.id).where(Case.closed_at < policy.closed_before, Case.personal_data_erased_at.is_(None))
        return list(session.execute(statement.order_by(Case.closed_at, Case.id)).scalars())


def erase_expired(session: Session, vault: Vault, ledger: Ledger, gateway_id: str, policy: Policy,
                  case_id: str) -> tuple[Erasure, Appended | None]:
    """Erase one due case's personal data and record it in the ledger, in the caller's transaction;
    the caller commits, tells the ledger (`committed`), then deletes the erasure's blobs."""
    case = session.execute(select(Case).where(Case.id == case_id).with_for_update(key_share=True)).scalar_one()
    erasure = erase(session, vault, case)
    if not erasure.erased_now:  # erased meanwhile by the mediator
        return erasure, None
    return erasure, ledger.append(session, NewEntry(
        kind=LedgerKind.PERSONAL_DATA_ERASED, detail=RETENTION, sender=gateway_id, sender_unit=gateway_id,
        recipient=case.mediator_id, recipient_unit=case.mediator_unit, case=case.id, resource=case_location(case.id),
        payload_digest=content_digest(policy.statement(case)), signature_digest=content_digest(b""), region=case_region(case),
    ))
