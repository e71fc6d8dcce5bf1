"""The gateway's signers whose keys stay in an HSM (PKCS#11), behind the interface of
imr_alomrane_gateway_client.signers that the in-memory keys share.

The PKCS#11 side (python-pkcs11, the `pkcs11` extra; tested against SoftHSM2) keeps one logged-in
session per process and token: PKCS#11 logs in an application, not a session (a second login is
refused, and closing any session logs every one out), and a session runs one operation at a
time, so signatures from the server's threads take turns on a lock.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from imr_alomrane_gateway_client.signers import EDDSA, ES256, KEY_KINDS, PublicKey, verify

if TYPE_CHECKING:
    import pkcs11

_PROBE = b"gateway start-up: does this key sign, and is it the public key's pair?"


class Pkcs11Session:
    """The process's logged-in session on one token, shared by the signers of its keys."""

    def __init__(self, token: pkcs11.Token, session: pkcs11.Session) -> None:
        self.token, self.session = token, session
        self._lock = threading.Lock()

    def sign(self, key: pkcs11.PrivateKey, data: bytes, mechanism: pkcs11.Mechanism) -> bytes:
        with self._lock:
            return key.sign(data, mechanism=mechanism)

    def signer(self, label: str, algorithm: str) -> Pkcs11Signer:
        """The key pair labelled `label` (a private key and its public key, both with that
        CKA_LABEL), checked once now: of the kind `algorithm` needs, and signing a probe that its
        public key verifies. A ValueError saying what is wrong otherwise."""
        from pkcs11 import Attribute, KeyType, MultipleObjectsReturned, ObjectClass, PKCS11Error
        from pkcs11.util.ec import encode_named_curve_parameters

        try:
            with self._lock:
                private = self.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
                public = self.session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
        except MultipleObjectsReturned:
            raise ValueError(f"several keys are labelled {label!r}") from None
        except PKCS11Error as refused:
            raise ValueError(f"no private key and public key are both labelled {label!r} ({type(refused).__name__})") from None
        if {KeyType.EC: ES256, KeyType.EC_EDWARDS: EDDSA}.get(public.key_type) != algorithm:
            raise ValueError(f"the key labelled {label!r} is a {public.key_type.name} key, not an {KEY_KINDS[algorithm]} key")
        with self._lock:
            parameters, point = public[Attribute.EC_PARAMS], public[Attribute.EC_POINT]
        if algorithm == ES256 and parameters != encode_named_curve_parameters("secp256r1"):
            raise ValueError(f"the key labelled {label!r} is an EC key on another curve than P-256")
        signer = Pkcs11Signer(self, private, algorithm, _public_key(algorithm, point))
        try:
            verify(signer.public_key, signer.sign(_PROBE), _PROBE)
        except PKCS11Error as refused:
            raise ValueError(f"the key labelled {label!r} does not sign ({type(refused).__name__})") from None
        except InvalidSignature:
            raise ValueError(f"the private and public keys labelled {label!r} are not a pair") from None
        return signer

    def holds(self, label: str) -> bool:
        """Whether any object in the token is labelled `label`."""
        from pkcs11 import Attribute

        with self._lock:
            return any(True for _ in self.session.get_objects({Attribute.LABEL: label}))

    def generate(self, label: str, algorithm: str) -> Pkcs11Signer:
        """A new key pair in the token, labelled `label` (the private key never leaves it); a
        ValueError if the label is taken, since a signer's label must name one key."""
        from pkcs11 import Attribute, KeyType, Mechanism
        from pkcs11.util.ec import encode_named_curve_parameters

        if self.holds(label):
            raise ValueError(f"token {self.token.label!r} already holds a key labelled {label!r}: it is never replaced")
        key_type, curve, mechanism = {
            ES256: (KeyType.EC, "secp256r1", Mechanism.EC_KEY_PAIR_GEN),
            EDDSA: (KeyType.EC_EDWARDS, "1.3.101.112", Mechanism.EC_EDWARDS_KEY_PAIR_GEN),
        }[algorithm]
        with self._lock, self.token.open(rw=True) as writer:  # logged in already: the application is
            parameters = writer.create_domain_parameters(key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True)
            parameters.generate_keypair(
                store=True, label=label, mechanism=mechanism,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True},
            )
        return self.signer(label, algorithm)


def _public_key(algorithm: str, point: bytes) -> PublicKey:
    """The public key from its CKA_EC_POINT: a DER OCTET STRING around the point (an uncompressed
    P-256 point, or Ed25519's 32 bytes); some modules give the bare point."""
    if len(point) > 2 and point[0] == 0x04 and point[1] == len(point) - 2:
        point = point[2:]
    if algorithm == EDDSA:
        return ed25519.Ed25519PublicKey.from_public_bytes(point)
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


@dataclass(frozen=True)
class Pkcs11Signer:
    """A key in the HSM: CKM_ECDSA over the SHA-256 digest (which gives r || s, as JWS wants), or
    CKM_EDDSA over the message itself."""

    session: Pkcs11Session
    key: Any  # pkcs11.PrivateKey
    algorithm: str
    public_key: PublicKey

    def sign(self, message: bytes) -> bytes:
        from pkcs11 import Mechanism

        if self.algorithm == ES256:
            return self.session.sign(self.key, hashlib.sha256(message).digest(), Mechanism.ECDSA)
        return self.session.sign(self.key, message, Mechanism.EDDSA)


class Pkcs11Module:
    """A PKCS#11 module (shared library), loaded and initialised once per process."""

    def __init__(self, path: Path) -> None:
        import pkcs11

        try:
            self.library = pkcs11.lib(str(path))
        except pkcs11.PKCS11Error as refused:
            raise ValueError(f"{path} does not load ({str(refused).rpartition(': ')[2]})") from None
        self.path = path
        self._sessions: dict[str, Pkcs11Session] = {}
        self._lock = threading.Lock()

    def token(self, label: str) -> pkcs11.Token:
        import pkcs11

        try:
            return self.library.get_token(token_label=label)
        except pkcs11.NoSuchToken:
            labels = sorted(filter(None, (slot.get_token().label for slot in self.library.get_slots(token_present=True))))
            raise ValueError(f"no token is labelled {label!r} (its tokens: {', '.join(labels) or 'none'})") from None
        except pkcs11.PKCS11Error as refused:
            raise ValueError(f"{self.path} cannot list its tokens ({type(refused).__name__})") from None

    def log_in(self, token: pkcs11.Token, pin: str) -> Pkcs11Session:
        """The process's session on `token`, logged in with `pin` the first time (never repeated in
        an error: the PIN is a secret)."""
        import pkcs11

        with self._lock:
            if token.label not in self._sessions:
                try:
                    self._sessions[token.label] = Pkcs11Session(token, token.open(user_pin=pin))
                except pkcs11.PKCS11Error as refused:
                    raise ValueError(f"token {token.label!r} refused the log-in ({type(refused).__name__})") from None
            return self._sessions[token.label]


def pkcs11_module(path: Path) -> Pkcs11Module:
    """The module at `path` (FileNotFoundError naming it if there is nothing there), loaded once
    per process however the path is spelt: C_Initialize is once per process."""
    return _loaded(path.resolve(strict=True))


@cache
def _loaded(path: Path) -> Pkcs11Module:
    return Pkcs11Module(path)
