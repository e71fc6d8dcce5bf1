"""Which gateway keys a client believes: its trust roots, pinned from configuration.

A receipt proves a write only if it is signed with a receipt key of the gateway's that the client
pinned beforehand, and its ledger proof with the checkpoint verifier key it pinned: a gateway that
swaps its keys (compromised, or another one answering at its address) cannot make the client
believe receipts it signed with keys of its own choosing. The pins come from files or documents:

- the receipt keys: a key history as `GET /v1/keys/history` serves it (or a JWK Set as
  `GET /.well-known/jwks.json` serves it), of which only the gateway's own receipt keys count;
- the checkpoint verifier key: the C2SP key string `<origin>+<key id>+<base64 key>`
  (`note_key` in `GET /v1/ledger/key`), or a file holding it.

A key change is accepted only when the pinned key history announces the new key: given as a file,
the pin is read again when a receipt names a key it does not list, so that installing the key
history the gateway's operators announce a rotation with is enough. Trust on first use (the keys
the gateway serves the first time, kept for the client's life) only when asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from imr_alomrane_gateway_client.signing import VerificationKey

KeysDocument = Mapping[str, Any] | Path  # a key history or a JWK Set, or a JSON file holding one
FIRST_USE_PATH = "/.well-known/jwks.json"  # what a client trusting on first use pins


def _is_gateway_receipt_key(entry: Mapping[str, Any], gateway_id: str) -> bool:
    """The one filter on published keys: the gateway's own receipt keys (EC P-256; its checkpoint key
    is Ed25519), never an institution's request key, which would let any institution mint receipts."""
    return entry.get("owner") == gateway_id and entry.get("purpose", "receipts") == "receipts"


def gateway_receipt_keys(document: Mapping[str, Any], gateway_id: str) -> dict[str, VerificationKey]:
    """The receipt keys a key history or a JWK Set lists for `gateway_id`. A key history's record
    holds its JWK apart (`jwk`) and says when the gateway stopped trusting it (`trusted_until`) or
    revoked it (`revoked_at`): a receipt issued after that is refused."""
    keys = {}
    for entry in document.get("keys", []):
        jwk = entry.get("jwk", entry)
        if not _is_gateway_receipt_key(entry, gateway_id) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            continue
        ended = [datetime.fromisoformat(entry[name]) for name in ("trusted_until", "revoked_at") if entry.get(name)]
        keys[entry["kid"]] = VerificationKey(
            kid=entry["kid"], owner=gateway_id, jwk={name: jwk[name] for name in ("kty", "crv", "x", "y")},
            not_after=min(ended) if ended else None, revoked=bool(entry.get("revoked")),
        )
    return keys


def _note_keys(document: Mapping[str, Any], gateway_id: str) -> Iterable[str]:
    return (entry["note_key"] for entry in document.get("keys", []) if entry.get("owner") == gateway_id and "note_key" in entry)


def _read(source: KeysDocument) -> Mapping[str, Any]:
    return json.loads(source.read_text(encoding="utf-8")) if isinstance(source, Path) else source


class TrustRoots:
    """The receipt keys and the checkpoint verifier key one client believes, for one gateway."""

    def __init__(self, gateway_id: str, *, receipt_keys: KeysDocument | None = None, checkpoint_key: str | Path | None = None,
                 trust_on_first_use: bool = False) -> None:
        if not trust_on_first_use and (receipt_keys is None or checkpoint_key is None):
            raise ValueError("pin the gateway's keys (receipt_keys= a key history or JWK Set, checkpoint_key= its verifier key), "
                             "or ask for trust_on_first_use=True")
        self.gateway_id = gateway_id
        self._receipt_source, self._checkpoint_source = receipt_keys, checkpoint_key
        self.receipts: dict[str, VerificationKey] = {}
        self.log: NoteVerifier | None = None
        self.first_use_pending = receipt_keys is None or checkpoint_key is None
        self.reload()

    def reload(self) -> None:
        """Read the pins again: a file may now announce a new key (or revoke one)."""
        if self._receipt_source is not None:
            self.receipts = gateway_receipt_keys(_read(self._receipt_source), self.gateway_id)
        if self._checkpoint_source is not None:
            source = self._checkpoint_source
            self.log = NoteVerifier.from_key_string(source.read_text(encoding="utf-8").strip() if isinstance(source, Path) else source)

    def first_use(self, jwks: Mapping[str, Any]) -> None:
        """Pin what the gateway serves now, once: what was pinned from configuration stays."""
        if self._receipt_source is None:
            self.receipts = gateway_receipt_keys(jwks, self.gateway_id)
        if self._checkpoint_source is None:
            note_keys = list(_note_keys(jwks, self.gateway_id))
            if not note_keys:
                raise ValueError("the gateway's key set lists no checkpoint verifier key (note_key)")
            self.log = NoteVerifier.from_key_string(note_keys[0])
        self.first_use_pending = False
