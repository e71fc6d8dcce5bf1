"""What an accepted write did, as the ledger records it and the receipt proves it."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.vocabulary import LedgerKind


@dataclass(frozen=True)
class LedgerEvent:
    kind: LedgerKind
    case_id: str
    counterpart_id: str  # the other party: the entry's recipient
    detail: str | None = None  # the message kind, the case's subject, the document's type…
    location: str | None = None  # the resource the write created, if any (else the request target)
