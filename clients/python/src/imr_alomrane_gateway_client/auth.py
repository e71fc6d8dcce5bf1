"""Signing every write an institution sends: an httpx `auth` callable, so any httpx-style client
(the SDK's, a test client) signs exactly the bytes it sends."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from imr_alomrane_gateway_client.signers import load_private_key
from imr_alomrane_gateway_client.signing import SIGNATURE_HEADER, SIGNED_HEADERS, Signer, content_digest, sign_request

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestSigner:
    """Adds `Request-Signature` and `Content-Digest` to every write (a fresh jti and iat each time,
    so a retry is a new signed request while its `Idempotency-Key` keeps it a single operation)."""

    def __init__(self, unit_id: str, signer: Signer, audience: str) -> None:
        self.unit_id, self.signer, self.audience = unit_id, signer, audience

    @classmethod
    def from_key_file(cls, unit_id: str, path: Path, audience: str, kid: str | None = None) -> RequestSigner:
        key = load_private_key(path)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC P-256 signing key")
        return cls(unit_id, Signer.from_private_key(key, kid), audience)

    def sign(self, method: str, target: str, digest: str, headers: dict[str, str] | None = None) -> str:
        return sign_request(self.signer, self.unit_id, self.audience, method, target, digest=digest, headers=headers)

    def __call__(self, request):
        """A streamed body (a document) comes with its Content-Digest computed beforehand; any
        other body is read and digested here."""
        if request.method in WRITE_METHODS:
            if "Content-Digest" not in request.headers:
                request.headers["Content-Digest"] = content_digest(request.read())
            target = request.url.raw_path.decode("ascii")
            headers = {name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers}
            request.headers[SIGNATURE_HEADER] = self.sign(request.method, target, request.headers["Content-Digest"], headers)
        return request
