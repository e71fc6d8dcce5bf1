"""A slow request and its retry, however long the first takes, have exactly one effect.

Here an upload's body trickles in for seconds (a slow client, alive all along) while a retry with
the same Idempotency-Key is sent. The key is recorded in each one's own transaction, so whichever
commits first is the one effect and the other answers with its stored answer (or, if it had to
wait too long, `409 idempotency-in-flight`); it never runs the request a second time. (Before the
write path was rebuilt, a key held by a request older than a lease could be taken over: two
documents, two ledger entries, two receipts.)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from gateway import samples
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.signing import content_digest
from tests.factories import case_payload
from tests.faults.conftest import institution_http
from tests.faults.invariants import check, describe

pytestmark = pytest.mark.tls

TRICKLE_SECONDS = 2.5  # the slow upload's body takes this long
RETRY_AFTER_SECONDS = 1.0  # the retry is sent while the slow upload is still arriving
DOCUMENT = samples.pdf(["Procès-verbal de constat", "محضر معاينة"])


def trickle(data: bytes, pieces: int, seconds: float) -> Iterator[bytes]:
    """The body a few bytes at a time, spread over `seconds`: a slow client, alive all along."""
    size = -(-len(data) // pieces)
    for start in range(0, len(data), size):
        if start:
            time.sleep(seconds / pieces)
        yield data[start:start + size]


def upload_headers(key: str) -> dict[str, str]:
    return {
        "Idempotency-Key": key, "Content-Type": "application/octet-stream", "Content-Digest": content_digest(DOCUMENT),
        "Content-Disposition": attachment_header("constat.pdf"), "Content-Length": str(len(DOCUMENT)),
    }


def test_a_slow_request_and_its_retry_have_exactly_one_effect(start_gateway, test_pki, engine_sql, database_url):
    gateway = start_gateway()
    with institution_http(gateway.url, test_pki, "imr") as imr:
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        path, key = f"/v1/cases/{case_id}/documents", f"slow-{uuid.uuid4()}"
        answers: dict[str, httpx.Response] = {}
        slow = threading.Thread(target=lambda: answers.__setitem__(
            "slow", imr.post(path, content=trickle(DOCUMENT, 5, TRICKLE_SECONDS), headers=upload_headers(key))))
        slow.start()
        try:
            time.sleep(RETRY_AFTER_SECONDS)
            assert slow.is_alive(), "the slow upload ended before its retry was sent"
            answers["retry"] = imr.post(path, content=DOCUMENT, headers=upload_headers(key))
        finally:
            slow.join(30)

    first, retry = answers["slow"], answers["retry"]
    documents = engine_sql("SELECT count(*) FROM documents WHERE case_id = :id", id=case_id).scalar()
    entries = engine_sql("SELECT count(*) FROM ledger_entries WHERE kind = 'document_attached'").scalar()
    receipts = engine_sql("SELECT count(*) FROM receipts WHERE kind = 'acceptance' AND resource LIKE :r", r=f"{path}/%").scalar()
    _, broken = check(database_url)
    report = (f"slow request {first.status_code}, retry {retry.status_code} ({retry.text[:120]}); "
              f"{documents} documents, {entries} document_attached entries, {receipts} acceptance receipts")
    assert first.status_code == 201, report
    assert documents == entries == receipts == 1, report
    stored_answer = retry.status_code == 201 and retry.json()["id"] == first.json()["id"]
    in_flight = retry.status_code == 409 and "idempotency-in-flight" in retry.text and "retry-after" in retry.headers
    assert stored_answer or in_flight, report
    assert not broken, describe(broken)
