"""The ledger entry and its canonical encoding (what an outside verifier hashes).

Canonical bytes: the JSON object below with keys sorted, no whitespace, ASCII only (every value
is an identifier, a digest or a time), UTF-8 encoded. Leaf hash = SHA-256(0x00 || those bytes).

    {"at": "2026-11-24T07:36:25.123456Z", "case": "<case id>", "detail": "final_reply" | null,
     "kind": "case_opened" | "message_sent" | "delivery_acknowledged" | ...,
     "payload_digest": "sha-256=:…:", "recipient": "<institution id>", "resource": "/v1/cases/…",
     "sender": "<institution id>", "seq": 1, "signature_digest": "sha-256=:…:", "v": 1}

`seq` is the 1-based position (leaf index + 1); `payload_digest` is the RFC 9530 digest of the
signed request body and `signature_digest` that of the sender's JWS: both are in the receipt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.ledger.merkle import leaf_hash

VERSION = 1


def timestamp(moment: datetime) -> str:
    """Fixed-width RFC 3339 UTC with microseconds: sorts correctly as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION, "seq": self.seq, "at": self.at, "kind": self.kind, "detail": self.detail,
            "sender": self.sender, "recipient": self.recipient, "case": self.case, "resource": self.resource,
            "payload_digest": self.payload_digest, "signature_digest": self.signature_digest,
        }

    def canonical(self) -> bytes:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        if data.get("v") != VERSION:
            raise ValueError(f"unknown entry version {data.get('v')!r}")
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})
