"""C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and
cosignatures (c2sp.org/tlog-cosignature), with Ed25519.

A checkpoint is a note whose body is three lines (origin, tree size, base64 root hash) plus
optional extension lines; the gateway signs it, and witnesses (institutions, auditors) add
cosignatures once they have checked it is consistent with the last one they cosigned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from imr_alomrane_gateway_client.signers import EDDSA, KeySigner, expect

ED25519 = 0x01  # signed-note signature type
COSIGNATURE_V1 = 0x04  # tlog-cosignature, Ed25519
_DASH = "\u2014 "
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A note, checkpoint or signature that is malformed or does not verify."""


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise NoteError(f"invalid key name {name!r}: no spaces or '+'")
    return name


@dataclass(frozen=True)
class NoteVerifier:
    """A public key that verifies note signatures (type 0x01) or cosignatures (type 0x04)."""

    name: str
    public_key: Ed25519PublicKey
    signature_type: int = ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, _raw(self.public_key))

    @property
    def key_string(self) -> str:
        """The vkey: `<name>+<hex key id>+<base64(type || public key)>`."""
        material = base64.b64encode(bytes([self.signature_type]) + _raw(self.public_key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def from_key_string(cls, vkey: str) -> NoteVerifier:
        try:
            name, hex_id, material = vkey.split("+", 2)  # the base64 material may contain "+"
            raw = base64.b64decode(material, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("malformed verifier key") from exc
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("only Ed25519 verifier keys are supported")
        verifier = cls(_check_name(name), Ed25519PublicKey.from_public_bytes(raw[1:]), raw[0])
        if verifier.key_id.hex() != hex_id:
            raise NoteError("the verifier key's id does not match its key")
        return verifier


@dataclass(frozen=True)
class NoteSigner:
    """The log's signer: `name` (its origin) and an Ed25519 key, in memory or in an HSM."""

    name: str
    key: KeySigner

    def __post_init__(self) -> None:
        expect(self.key, EDDSA, "a note signing key")

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(_check_name(self.name), self.key.public_key)  # type: ignore[arg-type]  # Ed25519: checked above

    def signature_line(self, body: str) -> str:
        signature = self.key.sign(body.encode())
        return f"{_DASH}{self.name} {base64.b64encode(self.verifier.key_id + signature).decode()}\n"


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes  # after the key id

    def line(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


def sign_note(body: str, signer: NoteSigner) -> str:
    _check_body(body)
    return body + "\n" + signer.signature_line(body)


def _check_body(body: str) -> None:
    if not body.endswith("\n") or "\n\n" in body or body.startswith("\n"):
        raise NoteError("a note body is non-empty lines, each ending in a newline")


def parse_note(text: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its body and signature lines (nothing is verified here)."""
    body, separator, block = text.rpartition("\n\n")
    if not separator or not block.endswith("\n"):
        raise NoteError("a signed note is a body, a blank line, and signature lines")
    body += "\n"
    _check_body(body)
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise NoteError("malformed signature line")
        name, _, encoded = line[len(_DASH):].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed signature line") from exc
        if len(raw) < 5 or not name:
            raise NoteError("malformed signature line")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return body, signatures


def _matching(signatures: list[Signature], verifier: NoteVerifier) -> list[Signature]:
    return [s for s in signatures if s.name == verifier.name and s.key_id == verifier.key_id]


def open_note(text: str, verifier: NoteVerifier) -> str:
    """The note's body, if `verifier` signed it."""
    body, signatures = parse_note(text)
    for signature in _matching(signatures, verifier):
        try:
            verifier.public_key.verify(signature.signature, body.encode())
            return body
        except InvalidSignature:
            raise NoteError(f"the signature of {verifier.name} does not verify") from None
    raise NoteError(f"the note is not signed by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode(), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        _check_body(body)
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has at least three lines")
        origin, size, root, *extensions = lines
        if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size):
            raise NoteError("malformed checkpoint: origin, then the tree size in decimal")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed checkpoint root hash") from exc
        if len(root_hash) != 32:
            raise NoteError("the checkpoint root hash is not 32 bytes")
        return cls(origin, int(size), root_hash, tuple(extensions))


def open_checkpoint(text: str, log: NoteVerifier, origin: str | None = None) -> Checkpoint:
    checkpoint = Checkpoint.parse(open_note(text, log))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int | None = None) -> Signature:
    """A witness's cosignature on a signed checkpoint (the witness has checked consistency first)."""
    body, _ = parse_note(text)
    stamp = int(time.time()) if timestamp is None else timestamp
    verifier = NoteVerifier(_check_name(name), private_key.public_key(), COSIGNATURE_V1)
    signature = private_key.sign(_cosigned_message(body, stamp))
    return Signature(name, verifier.key_id, stamp.to_bytes(8, "big") + signature)


def verify_cosignature(text: str, witness: NoteVerifier) -> int:
    """The time at which `witness` cosigned this checkpoint; NoteError if it did not."""
    body, signatures = parse_note(text)
    for signature in _matching(signatures, witness):
        if len(signature.signature) != 72:
            raise NoteError("malformed cosignature")
        stamp = int.from_bytes(signature.signature[:8], "big")
        try:
            witness.public_key.verify(signature.signature[8:], _cosigned_message(body, stamp))
        except InvalidSignature:
            raise NoteError(f"the cosignature of {witness.name} does not verify") from None
        return stamp
    raise NoteError(f"no cosignature from {witness.name}")


def add_signature(text: str, signature: Signature) -> str:
    """The note with one more signature line (a signer's earlier line is replaced)."""
    body, signatures = parse_note(text)
    kept = [s for s in signatures if (s.name, s.key_id) != (signature.name, signature.key_id)]
    return body + "\n" + "".join(s.line() for s in [*kept, signature])
