"""The ledger entry and its canonical encoding (what an outside verifier hashes).

Canonical bytes: the RFC 8785 (JCS) form of the entry's JSON object (imr_alomrane_gateway_client.ledger.jcs, which
says how keys sort, how characters are escaped and how numbers are written); every member is
present, an absent value as `null`. Leaf hash = SHA-256(0x00 || those bytes).

Every value an entry has held so far is printable ASCII (identifiers, vocabulary words, digests,
times, paths of UUIDs, region codes, and the ASCII-only JSON of a registry change's `detail`), for
which JCS is also what this code wrote before it named JCS (sorted keys, compact, `ensure_ascii`):
no leaf hash of an existing ledger changes, and the self-check would name any that did.

Version 2 (every entry written since units exist):

    {"at": "2026-11-24T07:36:25.123456Z", "case": "<case or thematic file id>",
     "detail": "final_reply" | null, "due": "2026-12-24T07:36:25.123456Z" | null,
     "kind": "case_opened" | "message_sent" | ..., "payload_digest": "sha-256=:…:",
     "recipient": "<institution id>", "recipient_unit": "<unit id>", "refers": "/v1/…" | null,
     "region": "casablanca-settat" | null, "resource": "/v1/cases/…", "sender": "<institution id>",
     "sender_unit": "<unit id>", "seq": 1, "signature_digest": "sha-256=:…:", "v": 2}

Version 1 (entries written before): the same without `due`, `recipient_unit`, `refers`, `region`
and `sender_unit`; its units are the two head offices (a head office's unit id is its
institution's id). An entry is hashed in the version it was written in, forever.

`seq` is the 1-based position (leaf index + 1); `payload_digest` is the RFC 9530 digest of the
signed request body and `signature_digest` that of the sender's JWS: both are in the receipt.
`region` is the region of the case's (or thematic file's) project; `due` is the deadline the entry
sets or reminds of; `refers` is the resource the entry answers or concerns (a linked case, the
commitment a progress report reports on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imr_alomrane_gateway_client.ledger import jcs
from imr_alomrane_gateway_client.ledger.merkle import leaf_hash

VERSION = 2
_V1_FIELDS = ("seq", "at", "kind", "detail", "sender", "recipient", "case", "resource", "payload_digest", "signature_digest")
_V2_FIELDS = (*_V1_FIELDS, "sender_unit", "recipient_unit", "region", "due", "refers")
FIELDS = {1: _V1_FIELDS, 2: _V2_FIELDS}  # each version's members after `v`, in the order `as_dict` gives them


def timestamp(moment: datetime) -> str:
    """Fixed-width RFC 3339 UTC with microseconds: sorts correctly as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, kw_only=True)
class Entry:
    seq: int
    at: str
    kind: str
    detail: str | None
    sender: str
    recipient: str
    case: str
    resource: str
    payload_digest: str
    signature_digest: str
    sender_unit: str | None = None  # None in version 1 only
    recipient_unit: str | None = None
    region: str | None = None
    due: str | None = None
    refers: str | None = None
    v: int = VERSION

    @property
    def sending_unit(self) -> str:
        """The unit that sent it (the head office, for a version-1 entry)."""
        return self.sender_unit or self.sender

    @property
    def receiving_unit(self) -> str:
        return self.recipient_unit or self.recipient

    def as_dict(self) -> dict[str, Any]:
        fields = FIELDS[self.v]
        return {"v": self.v, **{name: getattr(self, name) for name in fields}}

    def canonical(self) -> bytes:
        return jcs.canonical(self.as_dict())

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        """Exactly the members of its version: an entry with one more or one fewer is not this one."""
        fields = FIELDS.get(data.get("v"))
        if fields is None:
            raise ValueError(f"unknown entry version {data.get('v')!r}")
        if set(data) != {"v", *fields}:
            raise ValueError(f"a version {data['v']} entry has exactly the members {', '.join(sorted({'v', *fields}))}")
        return cls(v=data["v"], **{name: data[name] for name in fields})
