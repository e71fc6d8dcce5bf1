"""The catalogue: refusals of requests full of a citizen's data. An error travels further than an
answer (client logs, tickets, support e-mails) and a log line lives longer than a case, so neither
the problem document nor any line logged while refusing, at DEBUG and from every logger (SQL
parameters included), may hold the complainant's name, CIN, phone, e-mail, address, the case's
free text, a message naming them, or a document's name."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from imr_alomrane_gateway_client.signing import content_digest
from tests.api.test_documents import upload
from tests.factories import case_payload, message
from tests.hostile.builders import SignedRequest
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

CITIZEN = case_payload()["complainant"]
FREE_TEXT = {name: case_payload()[name] for name in ("title", "summary", "requested_action")}
NAMING_MESSAGE = f"Mme {CITIZEN['full_name']} (CIN {CITIZEN['cin']}) a rappelé au {CITIZEN['phone']}."
NAMING_FILE = f"{CITIZEN['full_name']} CIN {CITIZEN['cin']}.pdf"
PERSONAL = [CITIZEN[name] for name in ("full_name", "cin", "phone", "email", "address")] + list(FREE_TEXT.values())
PERSONAL += [NAMING_MESSAGE, NAMING_FILE]


def citizens_case(**overrides) -> dict:
    """A case body carrying every personal field (the factory's), with the fields to break."""
    return case_payload(**overrides)


@dataclass
class Parties:
    imr: TestClient
    omrane: TestClient
    client_for: object
    test_pki: object
    case_id: str


def _signed_for_other_bytes(p: Parties):
    request = SignedRequest(p.test_pki, p.client_for("imr", sign=False), body=json.dumps(citizens_case(), ensure_ascii=False).encode())
    return request.send(request.genuine(dig=content_digest(b"{}")))


REFUSALS = {
    "an e-mail address that is not one": (lambda p: p.imr.post("/v1/cases", json=citizens_case(complainant={
        **CITIZEN, "email": CITIZEN["email"].replace("@", "")})), 422, "validation-failed"),
    "a CIN that is not one": (lambda p: p.imr.post("/v1/cases", json=citizens_case(complainant={
        **CITIZEN, "cin": CITIZEN["cin"].lower()})), 422, "validation-failed"),
    "a name with a NUL": (lambda p: p.imr.post("/v1/cases", json=citizens_case(complainant={
        **CITIZEN, "full_name": CITIZEN["full_name"] + "\x00"})), 422, "validation-failed"),
    "the respondent opening the case": (lambda p: p.omrane.post("/v1/cases", json=citizens_case()), 403, "role-forbidden"),
    "a case against the auditor": (lambda p: p.imr.post("/v1/cases", json=citizens_case(respondent_id="auditor")), 422, "unknown-respondent"),
    "a reference used before": (lambda p: p.imr.post("/v1/cases", json=citizens_case(reference=p.imr.get(
        f"/v1/cases/{p.case_id}").json()["reference"])), 409, "duplicate-reference"),
    "a signature over other bytes": (_signed_for_other_bytes, 401, "signature-digest-mismatch"),
    "a body over the limit": (lambda p: p.imr.post("/v1/cases", json=citizens_case(summary=NAMING_MESSAGE * 20_000)), 413, "payload-too-large"),
    "a body that is not UTF-8": (lambda p: p.imr.post("/v1/cases", content=json.dumps(citizens_case(), ensure_ascii=False).encode()
                                                      .replace(b"Casablanca", b"Casa\xff"), headers={"Content-Type": "application/json"}),
                                 400, "body-not-utf8"),
    "a message the mediator may not send": (lambda p: p.imr.post(f"/v1/cases/{p.case_id}/messages",
                                                                 json=message("acknowledgement", NAMING_MESSAGE)), 409, "transition-refused"),
    "a message to a case that does not exist": (lambda p: p.omrane.post("/v1/cases/00000000-0000-4000-8000-000000000000/messages",
                                                                        json=message("acknowledgement", NAMING_MESSAGE)), 404, "not-found"),
    "a message on a stale version": (lambda p: p.omrane.post(f"/v1/cases/{p.case_id}/messages", json=message("acknowledgement", NAMING_MESSAGE),
                                                             headers={"If-Match": f'"{p.case_id}.0"'}), 412, "precondition-failed"),
    "a message body over its limit": (lambda p: p.omrane.post(f"/v1/cases/{p.case_id}/messages",
                                                              json=message("acknowledgement", NAMING_MESSAGE * 400)), 422, "validation-failed"),
    "a document that is a text file named after the citizen": (
        lambda p: upload(p.imr, p.case_id, NAMING_MESSAGE.encode(), filename=NAMING_FILE), 415, "document-type-refused"),
    "a document whose bytes are not the ones declared": (
        lambda p: upload(p.imr, p.case_id, b"%PDF-1.4\n", filename=NAMING_FILE, **{"Content-Digest": content_digest(b"other")}),
        400, "content-digest-mismatch"),
    "a file name with a line break in it": (
        lambda p: upload(p.imr, p.case_id, b"%PDF-1.4\n", filename=NAMING_FILE.replace(" CIN", "\nCIN")), 422, "invalid-filename"),
}


@pytest.fixture
def parties(imr, omrane, client_for, test_pki) -> Parties:
    return Parties(imr, omrane, client_for, test_pki, imr.post("/v1/cases", json=citizens_case()).json()["id"])


def _every_form(value: str) -> set[str]:
    """How a value could show up: as sent, JSON-escaped, percent-encoded (a header or a URL)."""
    return {value, json.dumps(value)[1:-1], quote(value), quote(value, safe="")}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refusal_repeats_none_of_the_citizen_s_data(refusals, caplog, parties, refusal):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # statements and their parameters
    attempt, status, slug = REFUSALS[refusal]
    refusals.arranged()
    refused = attempt(parties)
    refusals.check(refused, status, slug)
    shown = "\n".join([refused.text, json.dumps(refused.json(), ensure_ascii=False), *map(str, refused.headers.items())])
    logged = "\n".join(f"{record.name} {record.getMessage()}" for record in caplog.records)
    assert "gateway.api.problems" in logged  # the capture did see the refusal's own line
    for value in PERSONAL:
        for form in _every_form(value):
            assert form not in shown, (value, refused.text)
            assert form not in logged, value
