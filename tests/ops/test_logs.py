"""JSON log lines with the request's fields, the request id taken (when well formed) or made,
echoed in every answer and carried in problem documents, the edge's own refusals included."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime

import pytest

from imr_alomrane_gateway_client import NotFound
from gateway.ops import context
from gateway.storage.writers import SerialWriter

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_well_formed_request_id_is_kept_and_logged_with_the_request_s_fields(ops_gateway, unsigned, logged):
    answer = unsigned("imr").get("/v1/me", headers={"X-Request-ID": "support:2026-12-01.42"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "support:2026-12-01.42"
    access = [line for line in logged() if line["logger"] == "gateway.access"]
    assert len(access) == 1
    line = access[0]
    assert datetime.fromisoformat(line.pop("time")) and line.pop("duration_ms") >= 0
    assert line == {"level": "INFO", "logger": "gateway.access", "message": "GET /v1/me 200", "method": "GET", "status": 200,
                    "request_id": "support:2026-12-01.42", "institution": "imr", "unit": "imr", "route": "/v1/me"}


def test_a_malformed_request_id_is_replaced_and_a_problem_carries_its_own(ops_gateway, unsigned, sdk, logged):
    client = unsigned("imr")
    for malformed in ("two words", "x" * 129, "é"):
        answer = client.get("/v1/me", headers={"X-Request-ID": malformed.encode()})
        assert GENERATED.fullmatch(answer.headers["x-request-id"]), malformed
    missing = client.get(f"/v1/cases/{uuid.uuid4()}")
    request_id = missing.headers["x-request-id"]
    assert missing.status_code == 404 and missing.json()["request_id"] == request_id and GENERATED.fullmatch(request_id)
    with pytest.raises(NotFound) as refused:  # the SDK hands it on
        sdk("imr").get_case(str(uuid.uuid4()))
    assert GENERATED.fullmatch(refused.value.request_id)
    lines = [line for line in logged() if line.get("request_id") == request_id]
    assert [line["logger"] for line in lines] == ["gateway.api.problems", "gateway.access"]
    assert all(line["route"] == "/v1/cases/{case_id}" and line["problem_type"] == "not-found" and line["institution"] == "imr"
               for line in lines)
    assert lines[1]["status"] == 404


def test_the_writer_thread_runs_a_write_in_its_request_s_context():
    """On SQLite every write runs on one writer thread: what it logs names the request it runs for."""
    writer = SerialWriter()

    async def write_for(request_id: str) -> str | None:
        context.begin(request_id, {}, {})
        return await writer.run(lambda: context.current().request_id)

    async def both() -> list[str | None]:
        return await asyncio.gather(write_for("first"), write_for("second"))

    try:
        assert asyncio.run(both()) == ["first", "second"]
    finally:
        writer.close()
