"""Schemathesis with real request signatures: shared by the in-process run (tests/api/test_contract.py)
and the live one over mutual TLS (tests/tls/test_schemathesis_live.py).

Schemathesis fills `Request-Signature` with generated junk; both runs replace it with a real
signature over the exact bytes sent, so that generated writes get past the signature check and
reach the services, while the requests meant to go without one still do."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import requests
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gateway.api.deps import WRITE_METHODS
from imr_alomrane_gateway_client.auth import RequestSigner
from imr_alomrane_gateway_client.signing import SIGNATURE_HEADER, SIGNED_HEADERS, content_digest

# `positive_data_acceptance` is left out on purpose: a schema-valid request can still be refused by a
# rule no schema expresses (a respondent that is not registered, a reference already used, a case
# that is not yours, a message kind the case's state does not allow), and those refusals are
# documented 4xx problems. Every other check runs.
EXCLUDED_CHECKS = [positive_data_acceptance]

# What both runs' Hypothesis settings start from: the same examples on every run (the suite's runs
# are bounded by `max_examples`; their long versions, `-m long`, draw more), no deadline.
REPEATABLE = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def signature_headers(signer: RequestSigner, method: str, target: str, body: bytes,
                      headers: Mapping[str, str]) -> dict[str, str]:
    """The headers (lowercase names) that make the write a validly signed one: `Content-Digest`
    from the body (a streamed upload needs it declared; other writes ignore it), the signature,
    and, as the SDK sends with every write, an `Idempotency-Key` if it has none."""
    present = {name.lower(): value for name, value in headers.items()}
    digest = content_digest(body)
    signed = {name: value for name, value in present.items() if name in SIGNED_HEADERS}
    added = {"content-digest": digest, SIGNATURE_HEADER.lower(): signer.sign(method, target, digest, signed)}
    if "idempotency-key" not in present:
        added["idempotency-key"] = str(uuid.uuid4())
    return added


def signing(app, signer: RequestSigner):
    """An ASGI wrapper that signs what schemathesis sends an app in-process: a write it sent with a
    (generated) signature gets a real one; one it sent without stays unsigned, so "missing
    signature" is tested too."""

    async def signed(scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            return await app(scope, receive, send)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        if SIGNATURE_HEADER.lower() not in headers:
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        query = scope.get("query_string", b"").decode()
        target = scope["raw_path"].decode() + (f"?{query}" if query else "")
        added = signature_headers(signer, scope["method"], target, body, headers)
        kept = [(n, v) for n, v in scope["headers"] if n.decode("latin-1") not in added]
        replaced = [*kept, *((n.encode(), v.encode("latin-1")) for n, v in added.items())]

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        return await app({**scope, "headers": replaced}, replay, send)

    return signed


class SigningAuth(requests.auth.AuthBase):
    """The same for a live server, as the schema's auth (`schema.auth.set_from_requests`): it signs
    the prepared request, path and body exactly as they go on the wire. Schemathesis leaves it off
    the requests that probe whether a write without a valid signature is refused."""

    def __init__(self, signer: RequestSigner) -> None:
        self.signer = signer

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.method in WRITE_METHODS:
            body = request.body or b""
            body = body.encode() if isinstance(body, str) else body
            request.headers.update(signature_headers(self.signer, request.method, request.path_url, body, request.headers))
        return request
