"""Who sees a case, endpoint by endpoint: the regional unit holding it, its head office, another
unit of the same institution, the other party (head office and delegation), an auditor, and a
second respondent institution. Anyone who may not see a case gets exactly what a missing case gets."""

from __future__ import annotations

import pytest

from gateway import samples
from tests.conftest import arranged_once
from tests.factories import case_payload, message
from tests.units.test_units_and_routing import CASA, IMR_CASA, RABAT

ACTORS = {
    "the regional unit holding it": CASA,
    "its head office": "al-omrane",
    "another unit of its institution": RABAT,
    "the other party's head office": "imr",
    "the other party's delegation holding it": IMR_CASA,
    "an auditor": "auditor",
    "a second respondent institution": "ac-casa",
}
SEES, HIDDEN, FORBIDDEN = "sees", "hidden", "forbidden"
_EVERY_PARTY = {CASA: SEES, "al-omrane": SEES, RABAT: HIDDEN, "imr": SEES, IMR_CASA: SEES, "auditor": FORBIDDEN, "ac-casa": HIDDEN}
_RESPONDENT_SIDE = {**_EVERY_PARTY, "imr": HIDDEN, IMR_CASA: HIDDEN}  # an event in the holding unit's inbox
_LEDGER = {**_EVERY_PARTY, "auditor": SEES}  # auditors read the whole ledger
_MEDIATOR_ONLY = {**_EVERY_PARTY, CASA: FORBIDDEN, "al-omrane": FORBIDDEN, RABAT: FORBIDDEN, "ac-casa": FORBIDDEN}


class Arranged:
    """A case opened by IMR about a project in Casablanca-Settat (so held by both Casablanca units),
    acknowledged by Al Omrane Casablanca-Settat, with a document from IMR."""

    def __init__(self, client_for) -> None:
        imr, holder = client_for("imr"), client_for(CASA)
        payload = case_payload(project={"name": "Résidence Al Wifaq", "city": "Berrechid", "region": "casablanca-settat"})
        self.case = imr.post("/v1/cases", json=payload).json()["id"]
        acknowledged = holder.post(f"/v1/cases/{self.case}/messages", json=message("acknowledgement"))
        self.message = acknowledged.json()["id"]
        self.receipt = acknowledged.headers["receipt-location"].rsplit("/", 1)[1]
        self.document = imr.post(f"/v1/cases/{self.case}/documents", content=samples.pdf(["Constat"]),
                                 headers={"Content-Disposition": 'attachment; filename="constat.pdf"'}).json()["id"]
        self.event = next(e["id"] for e in holder.get("/v1/inbox").json()["items"] if e["case_id"] == self.case)


def _listed(ids):
    return lambda arranged, response: response.status_code == 200 and arranged.case in ids(response.json())


# (endpoint, request, expected outcome per actor); a "sees" outcome is a 2xx, or the case in a list.
ENDPOINTS = [
    ("GET case", lambda c, a: c.get(f"/v1/cases/{a.case}"), _EVERY_PARTY),
    ("GET message", lambda c, a: c.get(f"/v1/cases/{a.case}/messages/{a.message}"), _EVERY_PARTY),
    ("POST message", lambda c, a: c.post(f"/v1/cases/{a.case}/messages", json=message("note")), _EVERY_PARTY),
    ("GET documents", lambda c, a: c.get(f"/v1/cases/{a.case}/documents"), _EVERY_PARTY),
    ("GET document", lambda c, a: c.get(f"/v1/cases/{a.case}/documents/{a.document}"), _EVERY_PARTY),
    ("GET document content", lambda c, a: c.get(f"/v1/cases/{a.case}/documents/{a.document}/content"), _EVERY_PARTY),
    ("POST document", lambda c, a: c.post(f"/v1/cases/{a.case}/documents", content=samples.png(),
                                          headers={"Content-Disposition": 'attachment; filename="photo.png"'}), _EVERY_PARTY),
    ("GET receipt", lambda c, a: c.get(f"/v1/receipts/{a.receipt}"), _EVERY_PARTY),
    ("DELETE personal data", lambda c, a: c.delete(f"/v1/cases/{a.case}/personal-data"), _MEDIATOR_ONLY),
    ("POST inbox ack", lambda c, a: c.post(f"/v1/inbox/{a.event}/ack"), _RESPONDENT_SIDE),
]
LISTS = [
    ("GET cases", lambda c, a: c.get("/v1/cases", params={"limit": 1000}), lambda body: {case["id"] for case in body["items"]}, _EVERY_PARTY),
    ("GET receipts", lambda c, a: c.get("/v1/receipts", params={"resource": f"/v1/cases/{a.case}/messages/{a.message}"}),
     lambda body: {receipt["case_id"] for receipt in body}, _EVERY_PARTY),
    ("GET ledger search", lambda c, a: c.get("/v1/ledger/search", params={"case": a.case}),
     lambda body: {entry["entry"]["case"] for entry in body["items"]}, _LEDGER),
]


arrangement = arranged_once(Arranged)  # every case of the matrices starts from a copy of one arrangement


@pytest.fixture
def arranged(arrangement) -> Arranged:
    return arrangement.arranged


def by_actor(table):
    """Each row of an endpoint table once per actor (the thematic file tests share these)."""
    return [pytest.param(row, actor, id=f"{row[0]} by {label}") for row in table for label, actor in ACTORS.items()]


def answers_as_expected(response, outcome: str) -> None:
    if outcome == SEES:
        assert response.status_code < 300, response.text
    elif outcome == HIDDEN:
        assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (404, "not-found"), response.text
    else:
        assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (403, "role-forbidden"), response.text


def lists_as_expected(response, ids, wanted: str, outcome: str) -> None:
    """A list answers 403 to whom it is forbidden, else shows `wanted` exactly to whom sees it."""
    if outcome == FORBIDDEN:
        assert response.status_code == 403
    else:
        assert response.status_code == 200, response.text
        assert (wanted in ids(response.json())) is (outcome == SEES)


@pytest.mark.parametrize(("row", "actor"), by_actor(ENDPOINTS))
def test_an_endpoint_answers_each_actor_as_the_units_rules_say(arranged, client_for, row, actor):
    _, send, expected = row
    answers_as_expected(send(client_for(actor), arranged), expected[actor])


@pytest.mark.parametrize(("row", "actor"), by_actor(LISTS))
def test_a_list_shows_the_case_to_each_actor_as_the_units_rules_say(arranged, client_for, row, actor):
    _, send, ids, expected = row
    lists_as_expected(send(client_for(actor), arranged), ids, arranged.case, expected[actor])


def test_a_head_office_reads_its_units_inboxes_and_a_regional_unit_only_its_own(arranged, client_for):
    head, holder, other = client_for("al-omrane"), client_for(CASA), client_for(RABAT)
    assert arranged.case not in {e["case_id"] for e in head.get("/v1/inbox").json()["items"]}
    through_head = head.get("/v1/inbox", params={"unit": CASA}).json()["items"]
    assert through_head == holder.get("/v1/inbox").json()["items"]
    assert {e["recipient_unit"] for e in through_head} == {CASA}
    refused = other.get("/v1/inbox", params={"unit": CASA})
    assert refused.status_code == 403 and refused.json()["type"].endswith("/role-forbidden")
    for not_its_own in ("imr", IMR_CASA, "al-omrane-nowhere"):
        refused = head.get("/v1/inbox", params={"unit": not_its_own})
        assert refused.status_code == 422 and refused.json()["errors"][0]["parameter"] == "unit"


def test_a_head_office_filters_its_cases_by_unit_and_region(arranged, client_for):
    head = client_for("al-omrane")
    by_unit = head.get("/v1/cases", params={"unit": CASA, "limit": 1000}).json()["items"]
    assert arranged.case in {c["id"] for c in by_unit} and {c["respondent_unit"] for c in by_unit} == {CASA}
    assert arranged.case not in {c["id"] for c in head.get("/v1/cases", params={"unit": RABAT}).json()["items"]}
    by_region = head.get("/v1/cases", params={"region": "casablanca-settat", "limit": 1000}).json()["items"]
    assert arranged.case in {c["id"] for c in by_region} and {c["region"] for c in by_region} == {"casablanca-settat"}
