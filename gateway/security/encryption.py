"""Encryption at rest: a data key per case (AES-256-GCM), wrapped by a master key.

Erasing a case's personal data destroys its data key (crypto-shredding): every ciphertext sealed
with it becomes unreadable, while the ledger, which holds only digests, still verifies. Master-key
rotation re-wraps data keys (small) and never re-encrypts data: each wrapped key names the master
key that wrapped it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
_SEALED = b"gw1"  # format tag of a sealed value


class DecryptionFailed(Exception):
    """Wrong key, wrong context, or a ciphertext that was changed: nothing is returned."""


@dataclass(frozen=True)
class MasterKey:
    """A key-encryption key from the settings; its id is derived, so it cannot be mislabelled."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError("a master key is 32 bytes (base64 in GATEWAY_MASTER_KEY or its file)")

    @classmethod
    def from_text(cls, encoded: str) -> MasterKey:
        return cls(base64.b64decode(encoded.strip(), validate=True))

    @staticmethod
    def generate_text() -> str:
        return base64.b64encode(os.urandom(KEY_BYTES)).decode()

    @property
    def id(self) -> str:
        return hashlib.sha256(b"gateway master key id\n" + self.key).hexdigest()[:16]


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, context: str) -> bytes:
    """AES-256-GCM with a random nonce; `context` (e.g. "case:<id>:complainant") is authenticated,
    so a ciphertext moved to another case or field does not open."""
    nonce = os.urandom(NONCE_BYTES)
    return _SEALED + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


def open_sealed(key: bytes, sealed: bytes, context: str) -> bytes:
    if not sealed.startswith(_SEALED) or len(sealed) < len(_SEALED) + NONCE_BYTES + 16:
        raise DecryptionFailed("not a sealed value")
    nonce = sealed[len(_SEALED):len(_SEALED) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[len(_SEALED) + NONCE_BYTES:], context.encode())
    except InvalidTag:
        raise DecryptionFailed("the value does not open with this key in this context") from None


def wrap(master: MasterKey, data_key: bytes, case_id: str) -> bytes:
    return seal(master.key, data_key, f"data key:{case_id}")


def unwrap(master: MasterKey, wrapped: bytes, case_id: str) -> bytes:
    return open_sealed(master.key, wrapped, f"data key:{case_id}")
