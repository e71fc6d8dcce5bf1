"""`Idempotency-Key` on every POST: retries are answered, never executed twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from gateway.services.idempotency import fingerprint

from tests.factories import case_payload, message


def count_cases(imr) -> int:
    return len(imr.get("/v1/cases?limit=200").json()["items"])


def test_a_retry_returns_the_first_response_and_creates_nothing(imr, omrane):
    payload = case_payload()
    first = imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": '"open-1"'})
    retry = imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": '"open-1"'})
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content and retry.headers["location"] == first.headers["location"]
    assert count_cases(imr) == 1
    assert len(omrane.get("/v1/inbox").json()["items"]) == 1

    case_id = first.json()["id"]
    ack = [omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"), headers={"Idempotency-Key": "ack-1"})
           for _ in range(3)]
    assert {r.status_code for r in ack} == {201} and len({r.json()["id"] for r in ack}) == 1
    assert len(imr.get(f"/v1/cases/{case_id}").json()["messages"]) == 1


def test_the_same_key_with_another_body_is_refused(imr):
    imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": "k"})
    other = imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": "k"})
    assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"
    assert count_cases(imr) == 1


def test_keys_belong_to_one_institution(imr, client_for):
    imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": "shared"})
    # The other party using the same key string is a different key.
    case_id = imr.get("/v1/cases").json()["items"][0]["id"]
    other = client_for("al-omrane").post(
        f"/v1/cases/{case_id}/messages", json=message("acknowledgement"), headers={"Idempotency-Key": "shared"}
    )
    assert other.status_code == 201


def test_a_key_in_flight_answers_409_until_its_lease_expires(imr, engine_sql):
    now = datetime.now(UTC)
    body = json.dumps(case_payload()).encode()
    engine_sql(
        "INSERT INTO idempotency_records (institution_id, key, fingerprint, lease_until, created_at) "
        "VALUES ('imr', 'busy', :f, :lease, :now)",
        f=fingerprint("POST", "/v1/cases", body), lease=now + timedelta(minutes=5), now=now,
    )
    headers = {"Idempotency-Key": "busy", "Content-Type": "application/json"}
    busy = imr.post("/v1/cases", content=body, headers=headers)
    assert busy.status_code == 409 and busy.json()["type"] == "/problems/idempotency-in-flight"
    assert busy.headers["retry-after"] == "1"

    engine_sql("UPDATE idempotency_records SET lease_until = :past WHERE key = 'busy'", past=now - timedelta(seconds=1))
    taken_over = imr.post("/v1/cases", content=body, headers=headers)
    assert taken_over.status_code == 201
    assert imr.post("/v1/cases", content=body, headers=headers).content == taken_over.content


def test_a_failed_request_does_not_burn_its_key(imr):
    payload = case_payload(respondent_id="nobody")
    assert imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": "retry-me"}).status_code == 422
    payload["respondent_id"] = "al-omrane"
    # Same key, corrected body: the first attempt left nothing behind.
    assert imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": "retry-me"}).status_code == 201


def test_malformed_keys_are_refused(imr):
    for key in (b'""', b"x" * 256, "clé".encode(), b"two words"):
        response = imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": key})
        assert response.status_code == 400 and response.json()["type"] == "/problems/idempotency-key-invalid"
    assert count_cases(imr) == 0
