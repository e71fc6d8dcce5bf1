"""Races between requests, and between gateway processes sharing one database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from gateway.app import create_app
from tests.conftest import institution_client
from tests.factories import case_payload, message


def test_two_concurrent_final_replies_exactly_one_wins(settings, test_pki):
    """Two gateway instances (separate engines and pools, as separate processes would have)."""
    apps = [create_app(settings) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):
        imr = institution_client(apps[0], test_pki, "imr")
        omrane = [institution_client(app, test_pki, "al-omrane") for app in apps]
        for round_ in range(5):
            case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
            omrane[0].post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"))
            reply = message("final_reply", outcome="favourable")
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda i: omrane[i % 2].post(f"/v1/cases/{case_id}/messages", json=reply), range(4)))
            statuses = sorted(r.status_code for r in results)
            assert statuses == [201, 409, 409, 409], [r.text for r in results]
            detail = imr.get(f"/v1/cases/{case_id}").json()
            assert [m["kind"] for m in detail["messages"]] == ["acknowledgement", "final_reply"]
            assert detail["status"] == "answered" and detail["version"] == 3


def test_concurrent_case_openings_keep_inbox_sequences_gap_free(settings, test_pki):
    apps = [create_app(settings) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):
        clients = [institution_client(app, test_pki, "imr") for app in apps]
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda i: clients[i % 2].post("/v1/cases", json=case_payload()), range(24)))
        assert all(r.status_code == 201 for r in results)
        omrane = institution_client(apps[1], test_pki, "al-omrane")
        events = omrane.get("/v1/inbox", params={"limit": 100}).json()["items"]
        assert [e["seq"] for e in events] == list(range(1, 25))
        assert {e["case_id"] for e in events} == {r.json()["id"] for r in results}


def test_duplicate_references_racing_create_one_case(settings, test_pki):
    apps = [create_app(settings) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):
        clients = [institution_client(app, test_pki, "imr") for app in apps]
        payload = case_payload()
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: clients[i % 2].post("/v1/cases", json=payload), range(4)))
        assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [r.text for r in results]
