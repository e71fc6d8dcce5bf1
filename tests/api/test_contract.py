"""The published contract: generated from the models, committed, valid, and honoured by the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from openapi_spec_validator import validate

from gateway.contract.export import generated_files, stale_files
from gateway.security.tls import with_client_certificate
from tests.conftest import signer_for
from tests.schemathesis_signing import EXCLUDED_CHECKS, signing

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_and_schemas_are_up_to_date():
    stale = stale_files(ROOT)
    assert not stale, f"regenerate with `gateway contract`: {[str(p.relative_to(ROOT)) for p in stale]}"


def test_the_openapi_document_validates():
    spec = json.loads(generated_files()[Path("openapi/v1.json")])
    validate(spec)
    assert spec["components"]["securitySchemes"]["institutionCertificate"]["type"] == "mutualTLS"
    assert set(spec["paths"]) >= {"/v1/me", "/v1/cases", "/v1/cases/{case_id}", "/v1/cases/{case_id}/messages", "/v1/inbox"}


@pytest.fixture
def api_schema(app, test_pki):
    pem = test_pki.dev.clients["imr"].cert.read_text()
    return schemathesis.openapi.from_asgi("/openapi.json", with_client_certificate(signing(app, signer_for(test_pki, "imr")), pem))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_generated_request_yields_a_server_error(case):
    """Schemathesis explores every operation as IMR, in-process; any 5xx or off-contract response
    fails (every check but the one EXCLUDED_CHECKS explains)."""
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
