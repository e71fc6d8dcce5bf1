"""The published contract: generated from the models, committed, valid, and honoured by the app."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from openapi_spec_validator import validate

from gateway.contract.export import generated_files, stale_files
from gateway.api.deps import WRITE_METHODS
from gateway.security.signing import SIGNATURE_HEADER, SIGNED_HEADERS, content_digest
from gateway.security.tls import with_client_certificate
from tests.conftest import signer_for

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_and_schemas_are_up_to_date():
    stale = stale_files(ROOT)
    assert not stale, f"regenerate with `gateway contract`: {[str(p.relative_to(ROOT)) for p in stale]}"


def test_the_openapi_document_validates():
    document = generated_files()[Path("openapi/v1.json")]
    import json

    spec = json.loads(document)
    validate(spec)
    assert spec["components"]["securitySchemes"]["institutionCertificate"]["type"] == "mutualTLS"
    assert set(spec["paths"]) >= {"/v1/me", "/v1/cases", "/v1/cases/{case_id}", "/v1/cases/{case_id}/messages", "/v1/inbox"}


def signing(app, signer):
    """Replace the signature schemathesis generates with a real one over the exact bytes it sends
    (and leave a request it sent without one unsigned, so "missing signature" is tested too)."""
    header = SIGNATURE_HEADER.lower().encode()

    async def signed(scope, receive, send):
        present = any(name == header for name, _ in scope.get("headers", []))
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or not present:
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        query = scope.get("query_string", b"").decode()
        target = scope["raw_path"].decode() + (f"?{query}" if query else "")
        digest = content_digest(body).encode()  # streamed uploads need it declared; others ignore it
        kept = [(n, v) for n, v in scope["headers"] if n not in (header, b"content-digest")]
        signed = {n.decode(): v.decode("latin-1") for n, v in kept if n.decode() in SIGNED_HEADERS}
        token = signer.sign(scope["method"], target, digest.decode(), signed)
        headers = [*kept, (b"content-digest", digest), (header, token.encode())]

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        return await app({**scope, "headers": headers}, replay, send)

    return signed


@pytest.fixture
def api_schema(app, test_pki):
    pem = test_pki.dev.clients["imr"].cert.read_text()
    return schemathesis.openapi.from_asgi("/openapi.json", with_client_certificate(signing(app, signer_for(test_pki, "imr")), pem))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_generated_request_yields_a_server_error(case):
    """Schemathesis explores every operation as IMR; any 5xx or off-contract response fails.

    `positive_data_acceptance` is left out on purpose: a schema-valid request can still be refused
    by a rule no schema expresses (a respondent that is not registered, a reference already used,
    a case that is not yours), and those refusals are documented 4xx problems."""
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
