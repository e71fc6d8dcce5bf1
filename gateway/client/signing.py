"""Signing every write an institution sends: an httpx `auth` callable, so any httpx-style client
(the SDK's, a test client) signs exactly the bytes it sends."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from gateway.security.pki import load_private_key
from gateway.security.signing import SIGNATURE_HEADER, Signer, content_digest, sign_request

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestSigner:
    """Adds `Request-Signature` and `Content-Digest` to every write (a fresh jti and iat each time,
    so a retry is a new signed request while its `Idempotency-Key` keeps it a single operation)."""

    def __init__(self, institution_id: str, signer: Signer, audience: str) -> None:
        self.institution_id, self.signer, self.audience = institution_id, signer, audience

    @classmethod
    def from_key_file(cls, institution_id: str, path: Path, audience: str, kid: str | None = None) -> RequestSigner:
        key = load_private_key(path)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC P-256 signing key")
        return cls(institution_id, Signer.from_private_key(key, kid), audience)

    def sign(self, method: str, target: str, body: bytes) -> str:
        return sign_request(self.signer, self.institution_id, self.audience, method, target, body)

    def __call__(self, request):
        if request.method in WRITE_METHODS:
            body = request.read()
            target = request.url.raw_path.decode("ascii")
            request.headers[SIGNATURE_HEADER] = self.sign(request.method, target, body)
            request.headers["Content-Digest"] = content_digest(body)
        return request
