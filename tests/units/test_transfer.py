"""Moving a case to another unit of the same institution: signed, receipted, in the ledger, and
notified to both units and to the other party; ordered against racing replies by the case's lock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from tests.conftest import institution_client
from tests.factories import case_payload, message
from tests.units.test_units_and_routing import CASA, IMR_CASA, MARRAKECH, RABAT

CASABLANCA = {"name": "Résidence Al Wifaq", "city": "Berrechid", "region": "casablanca-settat"}


@pytest.fixture
def case_id(imr) -> str:
    return imr.post("/v1/cases", json=case_payload(project=CASABLANCA)).json()["id"]


def _events(client, case_id: str) -> list[str]:
    return [e["kind"] for e in client.get("/v1/inbox", params={"limit": 1000}).json()["items"] if e["case_id"] == case_id]


def _ledger(client, case_id: str) -> list[dict]:
    return [item["entry"] for item in client.get("/v1/ledger/search", params={"case": case_id}).json()["items"]]


@pytest.mark.parametrize("by", [CASA, "al-omrane"])
def test_the_holding_unit_or_its_head_office_transfers_a_case(client_for, case_id, by):
    response = client_for(by).post(f"/v1/cases/{case_id}/transfer", json={"unit": RABAT})
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["respondent_unit"], moved["mediator_unit"], moved["version"]) == (RABAT, IMR_CASA, 2)
    assert response.headers["receipt"] and response.headers["etag"] == f'"{case_id}.2"'
    entry = _ledger(client_for("auditor"), case_id)[-1]
    assert {name: entry[name] for name in ("kind", "detail", "sender", "sender_unit", "recipient", "recipient_unit", "region")} == {
        "kind": "case_transferred", "detail": "respondent", "sender": "al-omrane", "sender_unit": by,
        "recipient": "al-omrane", "recipient_unit": RABAT, "region": "casablanca-settat",
    }
    for unit in (CASA, RABAT, IMR_CASA):  # the unit it left, the unit it went to, the other party's unit
        assert "case_transferred" in _events(client_for(unit), case_id)
    assert _events(client_for("al-omrane"), case_id) == _events(client_for("imr"), case_id) == []  # the head offices' own inboxes
    assert client_for(CASA).get(f"/v1/cases/{case_id}").status_code == 404  # it no longer holds it
    assert client_for(RABAT).post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement")).status_code == 201


def test_the_mediator_side_transfers_between_its_delegations_and_head_office(client_for, case_id):
    response = client_for(IMR_CASA).post(f"/v1/cases/{case_id}/transfer", json={"unit": "imr"})
    assert response.status_code == 200 and (response.json()["mediator_unit"], response.json()["respondent_unit"]) == ("imr", CASA)
    assert _ledger(client_for("imr"), case_id)[-1]["detail"] == "mediator"
    assert "case_transferred" in _events(client_for(CASA), case_id)
    assert client_for(IMR_CASA).get(f"/v1/cases/{case_id}").status_code == 404


@pytest.mark.parametrize(("by", "to", "status", "slug"), [
    (RABAT, MARRAKECH, 404, "not-found"),  # another unit does not hold it: as if it did not exist
    ("ac-casa", "ac-casa", 404, "not-found"),
    (CASA, CASA, 409, "transfer-refused"),
    (CASA, "imr", 422, "unknown-unit"),  # another institution's unit
    (CASA, "al-omrane-nowhere", 422, "unknown-unit"),
    ("auditor", RABAT, 403, "role-forbidden"),
])
def test_a_transfer_that_cannot_be_made_is_refused_and_records_nothing(client_for, case_id, by, to, status, slug):
    before = _ledger(client_for("auditor"), case_id)
    response = client_for(by).post(f"/v1/cases/{case_id}/transfer", json={"unit": to})
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (status, slug)
    assert _ledger(client_for("auditor"), case_id) == before
    assert client_for("al-omrane").get(f"/v1/cases/{case_id}").json()["respondent_unit"] == CASA


def test_a_closed_case_is_not_transferred(client_for, imr, case_id):
    assert imr.post(f"/v1/cases/{case_id}/messages", json=message("closure", outcome="not_competent")).status_code == 201
    response = client_for(CASA).post(f"/v1/cases/{case_id}/transfer", json={"unit": RABAT})
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (409, "case-closed")


def test_a_transfer_racing_a_reply_is_ordered_by_the_case_lock(settings, test_pki):
    """Two gateway instances: the unit replies while its head office moves the case. Either the
    reply lands first and the transfer follows it, or the transfer lands first and the reply is
    answered as for a case the unit does not hold; never a reply recorded after the case left."""
    apps = [create_app(settings) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):
        imr = institution_client(apps[0], test_pki, "imr")
        holder, head = institution_client(apps[0], test_pki, CASA), institution_client(apps[1], test_pki, "al-omrane")
        auditor = institution_client(apps[1], test_pki, "auditor")
        for _ in range(8):
            case = imr.post("/v1/cases", json=case_payload(project=CASABLANCA)).json()["id"]
            holder.post(f"/v1/cases/{case}/messages", json=message("acknowledgement"))
            with ThreadPoolExecutor(2) as pool:
                reply = pool.submit(holder.post, f"/v1/cases/{case}/messages", json=message("final_reply", outcome="favourable"))
                transfer = pool.submit(head.post, f"/v1/cases/{case}/transfer", json={"unit": RABAT})
                reply, transfer = reply.result(), transfer.result()
            assert transfer.status_code == 200, transfer.text
            assert reply.status_code in (201, 404), reply.text
            kinds = [(e["kind"], e["detail"]) for e in _ledger(auditor, case)]
            replied = ("message_sent", "final_reply")
            if reply.status_code == 201:
                assert kinds.index(replied) < kinds.index(("case_transferred", "respondent"))
                assert transfer.json()["status"] == "answered"
            else:
                assert replied not in kinds and transfer.json()["status"] == "acknowledged"
            detail = imr.get(f"/v1/cases/{case}").json()
            assert detail["respondent_unit"] == RABAT and detail["version"] == (4 if reply.status_code == 201 else 3)
