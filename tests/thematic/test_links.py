"""Linking cases to a thematic file: only cases between its two institutions that the caller
sees; each link and unlink is a signed write with its ledger entry, receipt and inbox event."""

from __future__ import annotations

from tests.factories import case_payload
from tests.thematic.arrange import open_case, open_file, send
from tests.units.test_units_and_routing import CASA, IMR_CASA, RABAT


def _link(client, file_id: str, case_id: str):
    return client.put(f"/v1/thematic-files/{file_id}/cases/{case_id}")


def _type(response) -> str:
    return response.json()["type"].rsplit("/", 1)[1]


def test_linking_and_unlinking_a_case_is_in_the_file_the_ledger_and_the_receipt(imr, client_for, engine_sql):
    holder = client_for(CASA)
    file, case = open_file(imr)["id"], open_case(imr)
    linked = _link(holder, file, case)
    assert linked.status_code == 200, linked.text
    assert [(c["case_id"], c["linked_by"]) for c in linked.json()["cases"]] == [(case, CASA)]
    assert [c["case_id"] for c in imr.get(f"/v1/thematic-files/{file}").json()["cases"]] == [case]
    assert imr.get(f"/v1/cases/{case}").json()["thematic_files"] == [file]
    receipt = holder.get(linked.headers["receipt-location"]).json()
    assert (receipt["thematic_file_id"], receipt["case_id"], receipt["resource"]) == (file, None, f"/v1/thematic-files/{file}/cases/{case}")

    unlinked = imr.delete(f"/v1/thematic-files/{file}/cases/{case}")
    assert unlinked.status_code == 200 and unlinked.json()["cases"] == []
    assert imr.get(f"/v1/cases/{case}").json()["thematic_files"] == []
    entries = holder.get("/v1/ledger/search", params={"case": file}).json()["items"]
    links = [e["entry"] for e in entries if e["entry"]["kind"] in ("case_linked", "case_unlinked")]
    assert [(e["kind"], e["case"], e["refers"], e["sender_unit"], e["recipient_unit"]) for e in links] == [
        ("case_linked", file, f"/v1/cases/{case}", CASA, IMR_CASA),
        ("case_unlinked", file, f"/v1/cases/{case}", "imr", CASA),
    ]
    assert {e["region"] for e in links} == {"casablanca-settat"}
    assert engine_sql("SELECT count(*) FROM thematic_links").scalar() == 0


def test_linking_twice_or_unlinking_what_is_not_linked_is_refused_and_changes_nothing(imr, ledger_size):
    file, case = open_file(imr)["id"], open_case(imr)
    unlinked = imr.delete(f"/v1/thematic-files/{file}/cases/{case}")
    assert (unlinked.status_code, _type(unlinked)) == (409, "link-refused")
    assert _link(imr, file, case).status_code == 200
    before = ledger_size()
    again = _link(imr, file, case)
    assert (again.status_code, _type(again)) == (409, "link-refused") and "already" in again.json()["detail"]
    assert ledger_size() == before
    assert len(imr.get(f"/v1/thematic-files/{file}").json()["cases"]) == 1


def test_only_cases_between_the_files_two_institutions_are_linked(imr, client_for):
    file = open_file(imr)["id"]
    with_another_respondent = imr.post("/v1/cases", json=case_payload(respondent_id="ac-casa")).json()["id"]
    refused = _link(imr, file, with_another_respondent)
    assert (refused.status_code, _type(refused)) == (409, "link-refused") and "two institutions" in refused.json()["detail"]
    assert _link(client_for("ac-casa"), file, with_another_respondent).status_code == 404  # not its file


def test_a_case_or_a_file_the_caller_does_not_see_is_404(imr, client_for):
    file = open_file(imr)["id"]
    elsewhere = open_case(imr, project={"name": "Al Amal", "city": "Salé", "region": "rabat-sale-kenitra"})  # held by Rabat
    hidden_case = _link(client_for(CASA), file, elsewhere)
    assert (hidden_case.status_code, _type(hidden_case)) == (404, "not-found")
    hidden_file = _link(client_for(RABAT), file, elsewhere)
    assert (hidden_file.status_code, _type(hidden_file)) == (404, "not-found")
    missing = _link(imr, file, "00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, _type(missing)) == (404, "not-found")
    assert _link(imr, file, elsewhere).status_code == 200  # the head office sees both
    assert client_for(RABAT).get(f"/v1/cases/{elsewhere}").json()["thematic_files"] == []  # a file Rabat does not hold
    assert client_for("al-omrane").get(f"/v1/cases/{elsewhere}").json()["thematic_files"] == [file]


def test_a_closed_file_keeps_its_cases(imr):
    file, case = open_file(imr)["id"], open_case(imr)
    assert send(imr, file, "closure").status_code == 201
    refused = _link(imr, file, case)
    assert (refused.status_code, _type(refused)) == (409, "link-refused")
