"""The OpenAPI document is the contract a client is generated from: every operation named and
described, every body and answer exemplified (each example valid against its schema), every
header declared, each operation's own problem types, the export's records typed, and the
reference page made from this very document.

That the problem types and headers declared are the ones the gateway really sends is checked on
every answer the suite's in-process clients get (tests/contract_conformance.py)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gateway.api.openapi import reference
from gateway.api.openapi.operations import OPERATIONS
from gateway.cli import main
from gateway.api.contract_files import generated_files
from tests.conftest import institution_client
from tests.contract_conformance import OBSERVED, held_to_contract
from tests.factories import case_payload, message

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads(generated_files()[Path("openapi/v1.json")])
OPERATIONS_FOUND = [(method.upper(), path, operation) for path, operations in SPEC["paths"].items() for method, operation in operations.items()]
_ABSOLUTE = json.loads(json.dumps(SPEC).replace('"#/components/', '"urn:openapi#/components/'))
_REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(_ABSOLUTE, default_specification=DRAFT202012))


def _ids(found):
    return [f"{method} {path}" for method, path, _ in found]


def component(ref: str) -> dict:
    found = SPEC
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found


def media_objects(operation: dict):
    """(where, media type, media object) of the request body and of every answer."""
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        yield "request", media_type, media
    for status, answer in operation["responses"].items():
        for media_type, media in answer.get("content", {}).items():
            yield status, media_type, media


def examples_of(media: dict) -> list:
    found = [media["example"]] if "example" in media else []
    return found + [component(example["$ref"])["value"] if "$ref" in example else example["value"]
                    for example in media.get("examples", {}).values()]


def _binary(media: dict) -> bool:
    return media.get("schema", {}).get("format") == "binary"


def test_every_operation_has_a_stable_lower_camel_id_a_summary_and_a_description():
    ids = [operation["operationId"] for _, _, operation in OPERATIONS_FOUND]
    assert sorted(ids) == sorted(OPERATIONS), "every operation is in gateway.api.openapi.operations, and only those"
    for method, path, operation in OPERATIONS_FOUND:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", operation["operationId"]), (method, path)
        assert operation["summary"] and "**Who may call it**" in operation["description"], (method, path)
        writes = method in {"POST", "PUT", "DELETE"}
        assert ("**Retries**" in operation["description"]) == writes, (method, path)


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS_FOUND, ids=_ids(OPERATIONS_FOUND))
def test_every_body_and_every_answer_has_examples_that_match_its_schema(method, path, operation):
    """Binary bodies (an upload, a download) are the document's bytes: they have no example."""
    checked = 0
    for where, media_type, media in media_objects(operation):
        if _binary(media):
            continue
        found = examples_of(media)
        assert found, f"{method} {path} {where} {media_type} has no example"
        validator = Draft202012Validator(json.loads(json.dumps(media["schema"]).replace('"#/components/', '"urn:openapi#/components/')),
                                         registry=_REGISTRY)
        for example in found:
            errors = [error.message for error in validator.iter_errors(example)]
            assert not errors, f"{method} {path} {where}: {errors[:3]}"
            checked += 1
    assert checked, f"{method} {path} has no example at all"


def test_examples_are_in_arabic_and_french():
    text = json.dumps(SPEC["paths"], ensure_ascii=False) + json.dumps(SPEC["components"]["examples"], ensure_ascii=False)
    assert re.search("[\u0600-\u06ff]", text) and "réception" in text


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS_FOUND, ids=_ids(OPERATIONS_FOUND))
def test_problems_are_problem_json_with_their_types_named(method, path, operation):
    for status, answer in operation["responses"].items():
        if int(status) < 400:
            continue
        assert list(answer["content"]) == ["application/problem+json"], (method, path, status)
        assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert answer["x-problem-types"] and all(uri.startswith("/problems/") for uri in answer["x-problem-types"])
        assert "X-Request-ID" in answer["headers"]


def _problem_types(method: str, path: str) -> set[str]:
    operation = SPEC["paths"][path][method.lower()]
    return {uri.removeprefix("/problems/") for answer in operation["responses"].values() for uri in answer.get("x-problem-types", [])}


def test_each_operation_declares_only_the_problems_it_can_produce():
    ledger_key = _problem_types("GET", "/v1/ledger/key")
    assert not {"precondition-failed", "transition-refused", "signature-missing", "personal-data-erased"} & ledger_key
    assert {"client-certificate-required", "rate-limited"} <= ledger_key
    assert {"personal-data-erased", "precondition-failed", "transition-refused", "signature-replayed"} <= _problem_types(
        "POST", "/v1/cases/{case_id}/messages")
    assert "personal-data-erased" in _problem_types("GET", "/v1/cases/{case_id}/documents/{document_id}/content")
    assert "personal-data-erased" not in _problem_types("GET", "/v1/thematic-files/{file_id}/documents/{document_id}/content")
    assert "content-digest-required" in _problem_types("POST", "/v1/cases/{case_id}/documents")
    assert "role-forbidden" not in _problem_types("GET", "/v1/me")


def test_the_problem_schema_carries_every_extension_member():
    members = set(SPEC["components"]["schemas"]["Problem"]["properties"])
    assert {"type", "title", "status", "detail", "instance", "errors", "request_id", "case_status", "allowed_kinds", "current_version",
            "check", "accepted", "documents"} <= members


def test_writes_declare_the_signature_idempotency_and_digest_headers_and_their_receipts():
    for method, path, operation in OPERATIONS_FOUND:
        taken = {parameter["name"]: parameter for parameter in operation["parameters"] if parameter["in"] == "header"}
        assert "X-Request-ID" in taken
        if method == "GET":
            assert "security" not in operation and "Idempotency-Key" not in taken
            continue
        assert operation["security"] == [{"institutionCertificate": [], "requestSignature": []}]
        assert taken["Idempotency-Key"]["schema"]["maxLength"] == 257
        assert "Content-Digest" in taken
        success = next(answer for status, answer in operation["responses"].items() if int(status) < 300)
        if operation["operationId"] != "addCosignature":  # no ledger entry, so no receipt
            assert {"Receipt", "Receipt-Location"} <= set(success["headers"]), (method, path)
    download = SPEC["paths"]["/v1/cases/{case_id}/documents/{document_id}/content"]["get"]
    assert {"Content-Digest", "Repr-Digest", "ETag"} <= set(download["responses"]["200"]["headers"])
    assert "Content-Range" in download["responses"]["206"]["headers"] and "application/pdf" in download["responses"]["200"]["content"]
    assert "Link" in SPEC["paths"]["/v1/cases"]["get"]["responses"]["200"]["headers"]
    assert {"Location", "ETag"} <= set(SPEC["paths"]["/v1/cases"]["post"]["responses"]["201"]["headers"])


def test_servers_name_the_institutions_and_the_public_listener():
    assert [server["url"] for server in SPEC["servers"]] == ["https://127.0.0.1:8443", "https://127.0.0.1:8444"]


def test_the_conformance_check_refuses_an_undeclared_problem_or_header():
    """The check every client of the suite goes through can fail: a problem type or a header that
    `GET /v1/ledger/key` does not declare."""
    async def answering(status: int, headers: list, body: bytes):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        return held_to_contract(app)

    async def call(app):
        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            pass

        await (await app)({"type": "http", "method": "GET", "path": "/v1/ledger/key"}, receive, send)

    seen_before = set(OBSERVED)
    undeclared_problem = answering(409, [(b"content-type", b"application/problem+json")], b'{"type": "/problems/transition-refused"}')
    with pytest.raises(AssertionError, match="transition-refused"):
        asyncio.run(call(undeclared_problem))
    with pytest.raises(AssertionError, match="receipt"):
        asyncio.run(call(answering(200, [(b"receipt", b"x.y.z")], b"{}")))
    asyncio.run(call(answering(429, [(b"retry-after", b"1")], b'{"type": "/problems/rate-limited"}')))
    OBSERVED.intersection_update(seen_before)  # not the gateway's answers: no evidence of what it sends


def test_every_record_of_a_real_export_matches_its_schema(app, test_pki, imr, omrane):
    """A case opened, acknowledged and documented, then exported: header, entries and checkpoints
    each validate against the committed schemas/Export*Record.json."""
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    assert omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement")).status_code == 201
    auditor = institution_client(app, test_pki, "auditor")
    lines = [json.loads(line) for line in auditor.get("/v1/ledger/export").text.splitlines()]
    schemas = {kind: json.loads((ROOT / "schemas" / f"Export{kind.title()}Record.json").read_text()) for kind in ("header", "entry", "checkpoint")}
    assert {line["type"] for line in lines} == set(schemas)
    for line in lines:
        errors = [error.message for error in Draft202012Validator(schemas[line["type"]]).iter_errors(line)]
        assert not errors, (line["type"], errors)


def test_the_reference_page_is_made_from_this_document(tmp_path):
    assert not reference.is_stale(ROOT, SPEC), "regenerate with `gateway contract`"
    page = (ROOT / reference.PAGE).read_text(encoding="utf-8")
    assert len(page.encode()) < 1_500_000 and "Redoc.init" in page and "<script src" not in page  # everything inlined: it reads offline
    (tmp_path / "openapi").mkdir()
    (tmp_path / reference.PAGE).write_text(page, encoding="utf-8")
    changed = json.loads(json.dumps(SPEC))
    changed["info"]["version"] = "9.9.9"
    assert reference.is_stale(tmp_path, changed) and not reference.is_stale(tmp_path, SPEC)


def test_contract_check_notices_a_stale_reference_page(tmp_path, capsys):
    """`gateway contract --check` fails on a reference page made from another document, and passes on the committed files."""
    assert main(["contract", "--check", "--root", str(ROOT)]) == 0
    shutil.copytree(ROOT / "openapi", tmp_path / "openapi")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    page = tmp_path / reference.PAGE
    page.write_text(page.read_text(encoding="utf-8").replace('"version":"1.0.0"', '"version":"0.9.0"', 1), encoding="utf-8")
    assert main(["contract", "--check", "--root", str(tmp_path)]) == 1
    assert "stale: " + str(page) in capsys.readouterr().err
