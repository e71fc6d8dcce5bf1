"""What an accepted write did, as the ledger records it and the receipt proves it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from imr_alomrane_gateway_client.vocabulary import LedgerKind


@dataclass(frozen=True)
class Side:
    """One party to a case or thematic file: the institution and the unit of it that holds the file."""

    institution_id: str
    unit_id: str


@dataclass(frozen=True)
class LedgerEvent:
    kind: LedgerKind
    case_id: str  # the case or thematic file
    counterpart: Side  # the entry's recipient
    detail: str | None = None  # the message kind, the case's subject, the document's type…
    location: str | None = None  # the resource the write created, if any (else the request target)
    region: str | None = None  # the case's (or thematic file's) project region
    due: datetime | None = None  # the deadline the write sets
    refers: str | None = None  # the resource the write answers or concerns
    thematic: bool = False  # `case_id` is a thematic file's
