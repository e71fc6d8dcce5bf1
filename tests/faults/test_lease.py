"""A request that outlives its idempotency lease still has exactly one effect.

The lease only exists so that a key whose worker died can be taken over. A worker that is merely
slow (here: an upload whose body trickles in for longer than the lease) is still alive; a retry
with the same key must then get the stored answer or `409 idempotency-in-flight`, never run the
request a second time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from gateway import samples
from gateway.domain.documents import attachment_header
from gateway.security.signing import content_digest
from tests.factories import case_payload
from tests.faults.conftest import POLL_SECONDS, institution_http
from tests.faults.invariants import check, describe

pytestmark = pytest.mark.tls

LEASE_SECONDS = 1
TRICKLE_SECONDS = 2.5  # the slow upload's body takes this long: well past the lease
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


def wait_until_lease_expired(engine_sql, key: str, seconds: float = 10) -> None:
    """Poll for the slow request's claim, then until its lease has run out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lease = engine_sql("SELECT lease_until FROM idempotency_records WHERE key = :key", key=key).scalar()
        if lease is not None and datetime.now(UTC) > _aware(lease):
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"the key {key} was not claimed, or its lease did not expire, within {seconds} s")


def _aware(value: datetime | str) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_a_request_outliving_its_lease_has_exactly_one_effect(start_gateway, test_pki, engine_sql, database_url):
    gateway = start_gateway(GATEWAY_IDEMPOTENCY_LEASE_SECONDS=str(LEASE_SECONDS))
    with institution_http(gateway.url, test_pki, "imr") as imr:
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        path, key = f"/v1/cases/{case_id}/documents", f"slow-{uuid.uuid4()}"
        answers: dict[str, httpx.Response] = {}
        slow = threading.Thread(target=lambda: answers.__setitem__(
            "slow", imr.post(path, content=trickle(DOCUMENT, 5, TRICKLE_SECONDS), headers=upload_headers(key))))
        slow.start()
        try:
            wait_until_lease_expired(engine_sql, key)
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
