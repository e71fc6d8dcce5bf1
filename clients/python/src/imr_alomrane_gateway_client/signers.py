"""What signs: a narrow interface (ES256 for requests and receipts, Ed25519 for checkpoints), so
that the private key may live in memory (here: a PEM file, loaded once) or in an HSM (the
gateway's PKCS#11 signers), and the JWS and the signed note around the signature are
built the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

ES256 = "ES256"  # ECDSA P-256 with SHA-256, the signature as r || s (RFC 7518 §3.4): receipts
EDDSA = "EdDSA"  # Ed25519 (RFC 8037): ledger checkpoints
KEY_KINDS = {ES256: "EC P-256", EDDSA: "Ed25519"}
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def load_private_key(path: Path) -> PrivateKey:
    """A private key from an unencrypted PEM file (PKCS#8 or the key type's own)."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, PrivateKey):
        raise TypeError(f"{path} holds a {type(key).__name__}, not an EC or Ed25519 private key")
    return key


class KeySigner(Protocol):
    """A private key that signs bytes, wherever it is kept."""

    @property
    def algorithm(self) -> str: ...  # ES256 or EDDSA

    @property
    def public_key(self) -> PublicKey: ...

    def sign(self, message: bytes) -> bytes: ...


def es256_signature(der: bytes) -> bytes:
    """An ECDSA P-256 signature as JWS wants it: r || s, 32 bytes each, from its DER form."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(public: PublicKey, signature: bytes, message: bytes) -> None:
    """Raise InvalidSignature unless `signature` (r || s for ES256) is `public`'s over `message`."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signature, message)
        return
    if len(signature) != 64:
        raise InvalidSignature
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public.verify(der, message, _ECDSA_SHA256)


@dataclass(frozen=True)
class Es256Key:
    """An EC P-256 key in memory."""

    private: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey = field(init=False)
    algorithm: ClassVar[str] = ES256

    def __post_init__(self) -> None:
        if not isinstance(self.private.curve, ec.SECP256R1):
            raise ValueError(f"an EC key on {self.private.curve.name}, not on P-256")
        object.__setattr__(self, "public_key", self.private.public_key())

    def sign(self, message: bytes) -> bytes:
        return es256_signature(self.private.sign(message, _ECDSA_SHA256))


@dataclass(frozen=True)
class Ed25519Key:
    """An Ed25519 key in memory."""

    private: ed25519.Ed25519PrivateKey
    public_key: ed25519.Ed25519PublicKey = field(init=False)
    algorithm: ClassVar[str] = EDDSA

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", self.private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def software_signer(private: PrivateKey) -> Es256Key | Ed25519Key:
    """The signer for a private key held in memory, by the key's type."""
    return Ed25519Key(private) if isinstance(private, ed25519.Ed25519PrivateKey) else Es256Key(private)


def expect(signer: KeySigner, algorithm: str, source: str) -> KeySigner:
    """`signer`, if its key is of the kind `algorithm` needs; a ValueError naming `source` otherwise."""
    if signer.algorithm != algorithm:
        raise ValueError(f"{source} is an {KEY_KINDS[signer.algorithm]} key, not an {KEY_KINDS[algorithm]} key")
    return signer
