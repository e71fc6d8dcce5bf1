"""The published contract: generated from the models, committed, valid, and honoured by the app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import content_type_conformance, ignored_auth, status_code_conformance

from gateway import samples
from gateway.api.contract_files import generated_files, stale_files
from imr_alomrane_gateway_client.contract.documents import attachment_header
from gateway.security.tls import with_client_certificate
from tests.conftest import NO_LONG_POLLS, UNLIMITED, signer_for
from tests.factories import case_payload, message
from tests.schemathesis_signing import EXCLUDED_CHECKS, REPEATABLE, signing

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_and_schemas_are_up_to_date():
    stale = stale_files(ROOT)
    assert not stale, f"regenerate with `gateway contract`: {[str(p.relative_to(ROOT)) for p in stale]}"


def test_the_openapi_document_validates():
    spec = json.loads(generated_files()[Path("openapi/v1.json")])
    validate(spec)
    assert spec["components"]["securitySchemes"]["institutionCertificate"]["type"] == "mutualTLS"
    assert set(spec["paths"]) >= {"/v1/me", "/v1/cases", "/v1/cases/{case_id}", "/v1/cases/{case_id}/messages", "/v1/inbox"}


def test_every_link_names_an_operation_and_fills_its_path():
    """The links the stateful schemathesis run follows lead somewhere: an operation that exists,
    every path parameter of it taken from the response."""
    spec = json.loads(generated_files()[Path("openapi/v1.json")])
    links = [link for operations in spec["paths"].values() for operation in operations.values()
             for response in operation["responses"].values() for link in response.get("links", {}).values()]
    assert links
    for link in links:
        path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
        path = path.replace("~1", "/").replace("~0", "~")
        assert method in spec["paths"][path], link
        assert {name.removeprefix("path.") for name in link["parameters"]} == set(re.findall(r"{(\w+)}", path)), link


def test_answers_the_live_run_found_off_the_contract_are_documented(imr):
    """A download is sent as the type detected at upload, and a write to a case whose personal data
    was erased answers 410: tests/tls/test_schemathesis_live.py found both outside the contract."""
    contract = schemathesis.openapi.from_dict(json.loads(generated_files()[Path("openapi/v1.json")]))
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]

    def upload():
        headers = {"Content-Disposition": attachment_header("constat.pdf")}
        return imr.post(f"/v1/cases/{case_id}/documents", content=samples.pdf(["constat"]), headers=headers)

    document = upload().json()
    download = imr.get(document["content"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    assert imr.delete(f"/v1/cases/{case_id}/personal-data").status_code == 200
    answers = {
        ("GET", "/v1/cases/{case_id}/documents/{document_id}/content"): download,
        ("POST", "/v1/cases/{case_id}/messages"): imr.post(f"/v1/cases/{case_id}/messages", json=message("note")),
        ("POST", "/v1/cases/{case_id}/documents"): upload(),
    }
    assert [answer.status_code for answer in answers.values()] == [200, 410, 410]
    ids = {"case_id": case_id, "document_id": document["id"]}
    for (method, path), answer in answers.items():
        case = contract[path][method].Case(path_parameters={name: ids[name] for name in ids if f"{{{name}}}" in path})
        case.validate_response(answer, checks=[status_code_conformance, content_type_conformance])


# Bounded for the suite; the long run (`-m long`) draws Hypothesis's default hundred per operation.
QUICK = settings(REPEATABLE, max_examples=25)
LONG = settings(REPEATABLE, max_examples=100)


@pytest.fixture
def settings(settings):
    """Limits off: the run checks the contract, as fast as it can (tests/conftest.py, UNLIMITED, NO_LONG_POLLS)."""
    return settings.model_copy(update={**UNLIMITED, **NO_LONG_POLLS})


@pytest.fixture
def api_schema(app, test_pki):
    pem = test_pki.dev.clients["imr"].cert.read_text()
    return schemathesis.openapi.from_asgi("/openapi.json", with_client_certificate(signing(app, signer_for(test_pki, "imr")), pem))


schema = schemathesis.pytest.from_fixture("api_schema")
# In-process, `signing` signs every write that carries a signature, the junk one schemathesis sends
# to see whether a bad signature is refused included: that probe is the live run's, whose auth
# schemathesis leaves off it (tests/tls/test_schemathesis_live.py).
IN_PROCESS_EXCLUDED = [*EXCLUDED_CHECKS, ignored_auth]


@schema.parametrize()
@QUICK
def test_no_generated_request_yields_a_server_error(case):
    """Schemathesis explores every operation as IMR, in-process; any 5xx or off-contract response
    fails (every check but those EXCLUDED_CHECKS and IN_PROCESS_EXCLUDED explain)."""
    case.call_and_validate(excluded_checks=IN_PROCESS_EXCLUDED)


@pytest.mark.long
@schema.parametrize()
@LONG
def test_no_generated_request_yields_a_server_error_long(case):
    case.call_and_validate(excluded_checks=IN_PROCESS_EXCLUDED)
