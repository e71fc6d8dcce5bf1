"""The key ring: every verification key (institutions' from the registry, the gateway's own) and
the gateway's receipt signer, built when a registry version is put in force (gateway.security.trust)
so that no request parses a key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base64

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, NoteVerifier
from gateway.ledger.store import Ledger
from imr_alomrane_gateway_client.signers import load_private_key
from gateway.security.registry import Registry
from imr_alomrane_gateway_client.signers import KeySigner, expect, software_signer
from imr_alomrane_gateway_client.signing import Signer, VerificationKey, public_jwk


def key_file(path: Path, algorithm: str) -> KeySigner:
    """The private key (PEM) in `path`, in memory, if it is of the kind `algorithm` needs."""
    return expect(software_signer(load_private_key(path)), algorithm, str(path))


def gateway_key(signer: KeySigner, gateway_id: str) -> tuple[Signer, VerificationKey]:
    """The receipt signer and the public key the JWKS publishes for it (kid: its RFC 7638 thumbprint)."""
    receipts = Signer.of(signer)  # first: it checks the key is EC P-256
    return receipts, VerificationKey(kid=receipts.kid, owner=gateway_id, jwk=public_jwk(signer.public_key))  # type: ignore[arg-type]


def _witness_key(vkey: str) -> NoteVerifier:
    verifier = NoteVerifier.from_key_string(vkey)
    if verifier.signature_type != COSIGNATURE_V1:
        raise ValueError(f"witness key {verifier.name} is not a cosignature (type 0x04) key")
    return verifier


@dataclass(frozen=True)
class KeyRing:
    gateway_id: str
    receipt_signer: Signer
    keys: dict[str, VerificationKey]  # kid → key, institutions' and the gateway's
    ledger: Ledger
    witnesses: dict[str, list[NoteVerifier]]  # institution → its cosignature keys
    own: tuple[VerificationKey, ...]  # the gateway's receipt keys, current first

    @classmethod
    def build(cls, registry: Registry, gateway_id: str, signing: tuple[Signer, VerificationKey], retired: list[VerificationKey],
              ledger: Ledger) -> KeyRing:
        """The gateway's keys come loaded (`gateway_key`), so that each file's failure names its own setting.
        A key of an inactive institution or unit is listed as revoked: refused, and still there to verify the past."""
        signer, current = signing
        keys = {current.kid: current}
        for old in retired:
            keys.setdefault(old.kid, old)
        own = tuple(keys.values())
        for unit in (unit for institution in registry.institutions for unit in institution.all_units()):
            for entry in unit.signing_keys:
                if entry.kid in keys:
                    raise ValueError(f"key id {entry.kid} is used twice")
                keys[entry.kid] = VerificationKey(
                    kid=entry.kid,
                    owner=unit.id,  # the unit that signs with it: a request's `iss`
                    jwk=entry.jwk.model_dump(),
                    not_before=entry.not_before,
                    not_after=entry.not_after,
                    revoked=entry.revoked or not unit.active,
                )
        witnesses = {
            institution.id: [_witness_key(vkey) for vkey in institution.witness_keys] for institution in registry.institutions
        }
        return cls(gateway_id, signer, keys, ledger, witnesses, own)

    def gateway_jwks(self) -> list[dict[str, Any]]:
        """The gateway's own published keys, each with its purpose: what a registry version records of them."""
        return [*({**key.published(), "purpose": "receipts"} for key in self.own), self.checkpoint_jwk()]

    def checkpoint_jwk(self) -> dict[str, Any]:
        """The ledger's checkpoint key as a JWK (OKP Ed25519), with its C2SP verifier key."""
        note_key = self.ledger.signer.verifier
        raw = note_key.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), "kid": note_key.key_id.hex(),
            "use": "sig", "alg": "EdDSA", "owner": self.gateway_id, "purpose": "ledger-checkpoints", "note_key": note_key.key_string,
        }

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 JWK Set: what anyone needs to verify requests, receipts and checkpoints on their own."""
        return {"keys": [*(key.published() for key in self.keys.values()), self.checkpoint_jwk()]}
