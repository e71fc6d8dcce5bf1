"""Signed requests and signed receipts (JWS compact, ES256, python-jose with the cryptography backend).

A request signature is a compact JWS in the `Request-Signature` header. Its payload is a small
claim set that binds the exact request: who (`iss`), to whom (`aud`), what (`htm` method, `htu`
path with query, as in DPoP, RFC 9449), when (`iat`), once (`jti`), and which bytes (`dig`, the
RFC 9530 `sha-256=:…:` digest of the body, also sent as `Content-Digest`). The protected header
holds `alg` (ES256), `typ` and `kid`, and nothing else: keys come from the registry only, so
nothing may point at one (`jku`, `x5u`, `jwk`, `x5c`), and nothing may change how the token is
read (`b64`, `crit`).

The gateway keeps each request's JWS as evidence that the recipient verifies later, with another
library. So a token is accepted only in the one form every conforming reader reads alike: three
base64url segments without padding, whitespace or any other character, whose header and claims
are strict UTF-8 JSON objects (imr_alomrane_gateway_client.strict_json). python-jose would read more (padding,
whitespace, `+` and `/`, and JSON Python reads but others do not): the token is parsed once here,
strictly, and python-jose's key checks the signature over the exact signing input.

Everything here is pure (no I/O): the SDK signs with it and the gateway verifies with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jws
from jose.backends.base import Key

from imr_alomrane_gateway_client import strict_json
from imr_alomrane_gateway_client.signers import ES256, Es256Key, KeySigner, expect

ALGORITHM = ES256
SIGNATURE_HEADER = "Request-Signature"
RECEIPT_HEADER = "Receipt"
REQUEST_TYPE = "gateway-request+jwt"
RECEIPT_TYPE = "gateway-receipt+jwt"
HEADER_MEMBERS = frozenset({"alg", "kid", "typ"})
# Request headers that carry meaning beyond the body and must be signed when present: the `hdr`
# claim maps each one's lowercase name to the RFC 9530 digest of its value (a digest, so that the
# signature, which is kept and shown, carries no personal data). A document's file name travels in
# Content-Disposition: out of URLs, therefore out of access logs.
SIGNED_HEADERS = ("content-disposition",)


def content_digest(body: bytes) -> str:
    """RFC 9530 `Content-Digest` value for SHA-256."""
    return sha256_field(hashlib.sha256(body).digest())


def sha256_field(raw: bytes) -> str:
    """A SHA-256 hash as an RFC 9530 digest field member: `sha-256=:<base64>:`."""
    return "sha-256=:" + base64.b64encode(raw).decode() + ":"


def parse_content_digest(header: str) -> str | None:
    """The `sha-256=:…:` member of a `Content-Digest` dictionary (RFC 9530), normalised, or None
    if it has none (other algorithms the sender listed are ignored); ValueError saying why if its
    sha-256 member is not one."""
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        if name.strip().lower() == "sha-256":
            return _sha256_member(value.strip())
    return None


def _sha256_member(value: str) -> str:
    """A sha-256 member's value, `:<standard base64 with padding>:` (an RFC 8941 byte sequence)."""
    if len(value) < 2 or value[0] != ":" or value[-1] != ":":
        raise ValueError("the sha-256 value is a byte sequence between colons: sha-256=:<base64>:")
    encoded = value[1:-1]
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raw = _lenient_b64(encoded)
        if raw is not None and len(raw) == 32:
            raise ValueError(f"base64url or unpadded base64 is not accepted: RFC 9530 uses standard base64 with padding, "
                             f"here {sha256_field(raw)}") from None
        raise ValueError("the sha-256 value is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"a SHA-256 digest is 32 bytes, not {len(raw)}")
    return sha256_field(raw)


def _lenient_b64(encoded: str) -> bytes | None:
    """What base64url or unpadded base64 decodes to (to say what the sender meant), else None."""
    unpadded = encoded.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except ValueError:
        return None


def digest_form_problem(value: object) -> str | None:
    """Why a signed digest (`dig`, an `hdr` value) is not exactly `sha-256=:<padded standard base64>:`, or None."""
    if not isinstance(value, str):
        return "a digest is a string: sha-256=:<base64>:"
    try:
        canonical = parse_content_digest(value)
    except ValueError as malformed:
        return str(malformed)
    return None if canonical == value else "a digest is exactly sha-256=:<base64>: and nothing else"


def header_digests(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): content_digest(value.encode("latin-1")) for name, value in headers.items()}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _canonical_segment(segment: str) -> bytes:
    """The bytes of a base64url segment in its one canonical form (RFC 7515 §2: no padding, no
    other character): a segment is canonical when encoding what it decodes to gives it back, which
    refuses padding, whitespace, `+`, `/` and stray trailing bits in one comparison."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        if _b64url(raw) == segment:
            return raw
    except ValueError:  # not ASCII, or of a length no base64 has
        pass
    raise ValueError("each segment is base64url without padding, whitespace or any other character")


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")), "y": _b64url(numbers.y.to_bytes(32, "big"))}


def thumbprint(public: Mapping[str, str]) -> str:
    """RFC 7638 JWK thumbprint: a key id that anyone can recompute from the key itself."""
    canonical = json.dumps({name: public[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


class _SignerKey(Key):
    """A python-jose key that signs through a KeySigner: python-jose assembles every compact JWS
    (header and payload encoded as it always has), whether the private key is in memory or in an
    HSM, and only the signature comes from elsewhere."""

    def __init__(self, signer: KeySigner) -> None:
        self.sign = signer.sign  # type: ignore[method-assign]  # the signer's own method: no extra call per JWS


@dataclass(frozen=True)
class Signer:
    """An ES256 signing key with its key id; what signs is built once (imr_alomrane_gateway_client.signers)."""

    kid: str
    key: Key

    @classmethod
    def of(cls, signer: KeySigner, kid: str | None = None) -> Signer:
        expect(signer, ALGORITHM, "a JWS signing key")
        return cls(kid or thumbprint(public_jwk(signer.public_key)), _SignerKey(signer))

    @classmethod
    def from_private_key(cls, private: ec.EllipticCurvePrivateKey, kid: str | None = None) -> Signer:
        return cls.of(Es256Key(private), kid)

    def sign(self, claims: Mapping[str, Any], typ: str) -> str:
        return jws.sign(dict(claims), self.key, headers={"kid": self.kid, "typ": typ}, algorithm=ALGORITHM)


@dataclass(frozen=True)
class VerificationKey:
    """A public key from the registry (an institution's) or the gateway's own."""

    kid: str
    owner: str
    jwk: Mapping[str, str]
    not_before: datetime | None = None
    not_after: datetime | None = None
    revoked: bool = False
    key: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.key is None:
            object.__setattr__(self, "key", jwk.construct(dict(self.jwk), ALGORITHM))

    def published(self) -> dict[str, Any]:
        """The JWK as the JWKS endpoint publishes it."""
        entry: dict[str, Any] = {**self.jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM, "owner": self.owner}
        if self.not_before:
            entry["nbf"] = int(self.not_before.timestamp())
        if self.not_after:
            entry["exp"] = int(self.not_after.timestamp())
        if self.revoked:
            entry["revoked"] = True
        return entry


class SignatureRejected(Exception):
    """Why a signature is not accepted; `slug` names the problem type."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug, self.detail = slug, detail


@dataclass(frozen=True)
class Evidence:
    """Kept with what a signed request created: the sender's JWS and the exact body it covers,
    so that the recipient can verify the sender's signature on its own, later."""

    signature: str
    body: str


@dataclass(frozen=True)
class CompactJws:
    """A compact JWS read once, strictly: what every conforming reader reads in it."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @classmethod
    def parse(cls, token: str) -> CompactJws:
        """Raise ValueError (or its strict_json.NotStrictJson) saying why the token is not canonical."""
        segments = token.split(".")
        if len(segments) != 3:
            raise ValueError(f"a compact JWS has three segments, not {len(segments)}")
        header_bytes, claims_bytes, signature = (_canonical_segment(segment) for segment in segments)
        header, claims = strict_json.loads(header_bytes), strict_json.loads(claims_bytes)
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("the header and the claim set are JSON objects")
        return cls(header, claims, token.rpartition(".")[0].encode(), signature)

    @classmethod
    def read(cls, token: str, typ: str, *, malformed: str, refused: str) -> CompactJws:
        """The token, canonical and with exactly the documented header for `typ`; otherwise
        SignatureRejected with the slug `malformed` (not canonical) or `refused` (the header)."""
        try:
            parsed = cls.parse(token)
        except ValueError as exc:
            raise SignatureRejected(malformed, f"not a canonical compact JWS: {exc}") from None
        why = parsed.refused_header(typ)
        if why:
            raise SignatureRejected(refused, why)
        return parsed

    def refused_header(self, typ: str) -> str | None:
        """Why the protected header is not exactly the documented one, if it is not."""
        if self.header.get("alg") != ALGORITHM:
            return f"only {ALGORITHM} is accepted"
        if self.header.keys() != HEADER_MEMBERS:
            return "the protected header holds alg, kid and typ, and nothing else"
        if self.header["typ"] != typ:
            return f"typ must be {typ}"
        return None

    def key_from(self, keys: Mapping[str, VerificationKey]) -> VerificationKey | None:
        kid = self.header.get("kid")
        return keys.get(kid) if isinstance(kid, str) else None

    def verifies_with(self, key: VerificationKey) -> bool:
        """python-jose checks the signature, over the signing input read above (not a second parse)."""
        return key.key.verify(self.signing_input, self.signature)


@dataclass(frozen=True)
class VerifiedRequest:
    issuer: str
    kid: str
    jti: str
    iat: int
    token: str


def request_claims(
    issuer: str, audience: str, method: str, target: str, body: bytes = b"", *, digest: str | None = None,
    headers: Mapping[str, str] | None = None, now: float | None = None, jti: str | None = None,
) -> dict[str, Any]:
    """`digest` replaces `body` for a body sent as a stream (its SHA-256 computed beforehand);
    `headers` are the SIGNED_HEADERS the request carries, by lowercase name (signed as digests)."""
    signed_headers = {"hdr": header_digests(headers)} if headers else {}
    return {
        "iss": issuer,
        "aud": audience,
        "htm": method.upper(),
        "htu": target,
        "iat": int(now if now is not None else time.time()),
        "jti": jti or secrets.token_urlsafe(16),
        "dig": digest or content_digest(body),
        **signed_headers,
    }


def sign_request(signer: Signer, issuer: str, audience: str, method: str, target: str, body: bytes = b"", **options: Any) -> str:
    """What an institution puts in `Request-Signature` (the SDK does this for every write)."""
    return signer.sign(request_claims(issuer, audience, method, target, body, **options), REQUEST_TYPE)


def verify_request(
    token: str | None,
    *,
    keys: Mapping[str, VerificationKey],
    unit_id: str,
    audience: str,
    method: str,
    target: str,
    digest: str,
    max_skew_seconds: int,
    headers: Mapping[str, str] | None = None,
    now: float | None = None,
) -> VerifiedRequest:
    """Check a request signature against the registry's keys; raise SignatureRejected saying why.
    `digest` is the RFC 9530 digest of the body received (or, for a stream, the one declared and
    then checked against the bytes as they arrive); `headers` are the SIGNED_HEADERS the request
    carries, whose digests the `hdr` claim must list, no more and no fewer. The signer is a unit:
    `iss` is its id (an institution's own id, for its head office) and the key must be its own."""
    if not token:
        raise SignatureRejected("signature-missing", f"every write needs a {SIGNATURE_HEADER} header")
    parsed = CompactJws.read(token, REQUEST_TYPE, malformed="signature-malformed", refused="signature-algorithm-refused")
    key = parsed.key_from(keys)
    if key is None:
        raise SignatureRejected("signature-key-unknown", "the kid names no registered key")
    if key.owner != unit_id:
        raise SignatureRejected("signature-key-not-yours", "the key belongs to another unit than your certificate")
    if key.revoked:
        raise SignatureRejected("signature-key-revoked", "this key was revoked")
    now = now if now is not None else time.time()
    if (key.not_before and now < key.not_before.timestamp()) or (key.not_after and now > key.not_after.timestamp()):
        raise SignatureRejected("signature-key-expired", "this key is outside its validity period")
    if not parsed.verifies_with(key):
        raise SignatureRejected("signature-invalid", "the signature does not verify with the registered key")
    claims = parsed.claims
    expected = {"iss": unit_id, "aud": audience, "htm": method.upper(), "htu": target}
    wrong = sorted(name for name, value in expected.items() if claims.get(name) != value)
    if wrong:
        raise SignatureRejected("signature-request-mismatch", f"claims that do not match this request: {', '.join(wrong)}")
    signed_digests = {"dig": claims.get("dig")}
    if isinstance(claims.get("hdr"), dict):
        signed_digests |= {f"hdr.{name}": value for name, value in claims["hdr"].items()}
    for name, value in signed_digests.items():
        if (why := digest_form_problem(value)) is not None:
            raise SignatureRejected("signature-digest-malformed", f"{name}: {why}")
    if (claims.get("hdr") or {}) != header_digests(headers or {}):
        raise SignatureRejected("signature-request-mismatch", "claims that do not match this request: hdr")
    if claims.get("dig") != digest:
        raise SignatureRejected("signature-digest-mismatch", "dig is not the SHA-256 digest of the body received")
    iat, jti = claims.get("iat"), claims.get("jti")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise SignatureRejected("signature-malformed", "iat is a whole number of seconds since 1970 (a JWT NumericDate without "
                                "a fraction: Math.floor(Date.now() / 1000) in JavaScript)")
    if abs(now - iat) > max_skew_seconds:
        raise SignatureRejected("signature-stale", f"iat must be within {max_skew_seconds} seconds of the gateway's clock")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise SignatureRejected("signature-malformed", "jti must be a string of 8 to 128 characters")
    return VerifiedRequest(issuer=unit_id, kid=key.kid, jti=jti, iat=iat, token=token)


def keys_from_jwks(document: Mapping[str, Any]) -> dict[str, VerificationKey]:
    """Verification keys from a published JWK Set (what a client fetches from /.well-known/jwks.json)."""
    keys = {}
    for entry in document.get("keys", []):
        if entry.get("kty") == "EC" and entry.get("crv") == "P-256" and entry.get("kid"):
            keys[entry["kid"]] = VerificationKey(
                kid=entry["kid"], owner=str(entry.get("owner", "")), jwk={name: entry[name] for name in ("kty", "crv", "x", "y")},
                revoked=bool(entry.get("revoked", False)),
            )
    return keys


def verify_receipt(token: str, keys: Mapping[str, VerificationKey], gateway_id: str) -> dict[str, Any]:
    """The receipt's claims, if the gateway signed it with one of its published keys. A receipt is
    evidence too: held to the same canonical form as a request, which the gateway's own meet."""
    parsed = CompactJws.read(token, RECEIPT_TYPE, malformed="receipt-invalid", refused="receipt-invalid")
    key = parsed.key_from(keys)
    if key is None or key.owner != gateway_id:
        raise SignatureRejected("receipt-invalid", "the receipt is not signed with a published gateway key")
    if not parsed.verifies_with(key):
        raise SignatureRejected("receipt-invalid", "the receipt signature does not verify")
    if parsed.claims.get("iss") != gateway_id:
        raise SignatureRejected("receipt-invalid", "the receipt was not issued by this gateway")
    return parsed.claims
