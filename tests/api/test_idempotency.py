"""`Idempotency-Key` on every POST: retries are answered, never executed twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from gateway.app import create_app
from gateway.services.idempotency import fingerprint
from tests.conftest import institution_client
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


@contextmanager
def case_held(database_url: str, case_id: str) -> Iterator[None]:
    """Another transaction holds what a message on this case needs: its row lock (PostgreSQL), or
    the database write lock (SQLite), until the block ends."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
            yield
            connection.rollback()
    finally:
        engine.dispose()


def test_a_retry_of_a_request_still_running_waits_and_gets_its_answer(ledger_size, imr, client_for, database_url):
    """However long the first request takes, its retry never runs the work a second time."""
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    ack = message("acknowledgement")
    headers = {"Idempotency-Key": "slow-ack"}
    with ThreadPoolExecutor(2) as pool:
        with case_held(database_url, case_id):
            first = pool.submit(client_for("al-omrane").post, f"/v1/cases/{case_id}/messages", json=ack, headers=headers)
            time.sleep(0.3)  # the first request is waiting on the lock
            retry = pool.submit(client_for("al-omrane").post, f"/v1/cases/{case_id}/messages", json=ack, headers=headers)
            time.sleep(1.0)
        answers = [first.result(30), retry.result(30)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].content == answers[1].content and answers[0].headers["receipt"] == answers[1].headers["receipt"]
    assert len(imr.get(f"/v1/cases/{case_id}").json()["messages"]) == 1
    assert ledger_size() == 2


def test_a_write_kept_waiting_past_the_lock_timeout_is_told_to_retry(settings, test_pki, database_url):
    app = create_app(settings.model_copy(update={"database_lock_timeout_seconds": 0.5}))
    with TestClient(app):
        imr = institution_client(app, test_pki, "imr")
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        omrane = institution_client(app, test_pki, "al-omrane")
        with case_held(database_url, case_id):
            busy = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"), headers={"Idempotency-Key": "k"})
        assert busy.status_code == 503 and busy.json()["type"] == "/problems/storage-unavailable"
        assert int(busy.headers["retry-after"]) > 0
        # Nothing was recorded, and the key is free: the retry goes through.
        retried = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"), headers={"Idempotency-Key": "k"})
        assert retried.status_code == 201


def test_the_fingerprint_covers_the_signed_headers():
    first = fingerprint("POST", "/v1/cases/c/documents", "sha-256=:x:", {"content-disposition": "attachment; filename=a.pdf"})
    other = fingerprint("POST", "/v1/cases/c/documents", "sha-256=:x:", {"content-disposition": "attachment; filename=b.pdf"})
    assert first != other


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
