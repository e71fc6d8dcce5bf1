"""Inputs an attacker (or a buggy client) sends that once answered 500 with a traceback: each now
gets a problem document with a 4xx status, and nothing is written."""

from __future__ import annotations

import base64
import json

import pytest

from gateway import samples
from tests.api.test_documents import upload
from tests.factories import case_payload, message

OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]



def assert_problem(response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == f"/problems/{slug}"


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_instants_utc_cannot_hold_are_refused_in_queries(imr, client_for, instant):
    assert_problem(imr.get("/v1/cases", params={"updated_since": instant}), 422, "validation-failed")
    auditor = client_for("auditor")
    for bound in ("since", "until"):
        assert_problem(auditor.get("/v1/ledger/search", params={bound: instant}), 422, "validation-failed")


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_instants_utc_cannot_hold_are_refused_in_bodies(ledger_size, imr, instant):
    refused = imr.post("/v1/cases", json=case_payload(reply_deadline=instant))
    assert_problem(refused, 422, "validation-failed")
    assert refused.json()["errors"][0]["pointer"] == "#/reply_deadline" and instant not in refused.text
    assert ledger_size() == 0


def _cursor(position: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.mark.parametrize("position", [
    {"o": "2026-12-01T10:00:00", "i": "x"},  # naive: the gateway's cursors carry their offset
    {"o": "0001-01-01T00:00:00+01:00", "i": "x"},  # before year 1 in UTC
    {"o": 17, "i": "x"},
    {"i": "x"},
])
def test_forged_case_cursors_are_refused(imr, position):
    assert_problem(imr.get("/v1/cases", params={"cursor": _cursor(position)}), 400, "invalid-cursor")


@pytest.mark.parametrize("if_match", ['"{id}.²"', '"{id}.٣"', '"{id}.' + "9" * 5000 + '"'])
def test_if_match_with_digits_that_are_not_a_version_answers_412(ledger_size, imr, omrane, if_match):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    refused = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"),
                          headers={"If-Match": if_match.format(id=case_id).encode()})
    assert_problem(refused, 412, "precondition-failed")
    assert ledger_size() == 1


def test_a_range_with_thousands_of_digits_is_ignored(imr):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    data = samples.pdf(["Attestation"])
    document = upload(imr, case_id, data).json()
    for header in (f"bytes={'1' * 5000}-", f"bytes=0-{'9' * 5000}", f"bytes=-{'7' * 5000}"):
        whole = imr.get(document["content"], headers={"Range": header})
        assert whole.status_code == 200 and whole.content == data


def test_a_cosignature_whose_name_spans_lines_is_refused(imr, client_for):
    imr.post("/v1/cases", json=case_payload())
    line = "\u2014 audi\ntor.example/w1 " + base64.b64encode(b"k" * 76).decode() + "\n"
    for caller in (imr, client_for("auditor")):
        assert_problem(caller.post("/v1/ledger/cosignatures", json={"size": 1, "cosignature": line}), 422, "validation-failed")
