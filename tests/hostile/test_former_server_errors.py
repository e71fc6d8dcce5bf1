"""The catalogue: inputs that once answered 500 with a traceback. Each now gets a problem document
with a 4xx status, and nothing is written."""

from __future__ import annotations

import base64
import json

import pytest

from gateway import samples
from tests.api.test_documents import upload
from tests.factories import case_payload, message
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]



@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_instants_utc_cannot_hold_are_refused_in_queries(refusals, imr, client_for, instant):
    refusals.check(imr.get("/v1/cases", params={"updated_since": instant}), 422, "validation-failed")
    auditor = client_for("auditor")
    for bound in ("since", "until"):
        refusals.check(auditor.get("/v1/ledger/search", params={bound: instant}), 422, "validation-failed")


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_instants_utc_cannot_hold_are_refused_in_bodies(refusals, imr, instant):
    refused = imr.post("/v1/cases", json=case_payload(reply_deadline=instant))
    refusals.check(refused, 422, "validation-failed")
    assert refused.json()["errors"][0]["pointer"] == "#/reply_deadline" and instant not in refused.text


def _cursor(position: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.mark.parametrize("position", [
    {"o": "2026-12-01T10:00:00", "i": "x"},  # naive: the gateway's cursors carry their offset
    {"o": "0001-01-01T00:00:00+01:00", "i": "x"},  # before year 1 in UTC
    {"o": 17, "i": "x"},
    {"i": "x"},
])
def test_forged_case_cursors_are_refused(refusals, imr, position):
    refusals.check(imr.get("/v1/cases", params={"cursor": _cursor(position)}), 400, "invalid-cursor")


@pytest.mark.parametrize("if_match", ['"{id}.²"', '"{id}.٣"', '"{id}.' + "9" * 5000 + '"'])
def test_if_match_with_digits_that_are_not_a_version_answers_412(refusals, imr, omrane, if_match):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    refusals.arranged()
    refused = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"),
                          headers={"If-Match": if_match.format(id=case_id).encode()})
    refusals.check(refused, 412, "precondition-failed")


def test_a_range_with_thousands_of_digits_is_ignored(imr):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    data = samples.pdf(["Attestation"])
    document = upload(imr, case_id, data).json()
    for header in (f"bytes={'1' * 5000}-", f"bytes=0-{'9' * 5000}", f"bytes=-{'7' * 5000}"):
        whole = imr.get(document["content"], headers={"Range": header})
        assert whole.status_code == 200 and whole.content == data


def test_a_cosignature_whose_name_spans_lines_is_refused(refusals, imr, client_for):
    imr.post("/v1/cases", json=case_payload())
    refusals.arranged()
    line = "\u2014 audi\ntor.example/w1 " + base64.b64encode(b"k" * 76).decode() + "\n"
    for caller in (imr, client_for("auditor")):
        refusals.check(caller.post("/v1/ledger/cosignatures", json={"size": 1, "cosignature": line}), 422, "validation-failed")
