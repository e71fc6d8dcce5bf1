"""The edge's own refusals (written before or instead of the app's answer) carry a request id
and are counted with the app's problems; a request the edge cut is counted as unanswered."""

from __future__ import annotations

import pytest

from tests.ops.conftest import sample
from tests.wire import Wire, closed_within, read_response, request

BODY_IDLE_SECONDS = 0.3


@pytest.fixture
def ops_settings(ops_settings):
    return ops_settings.model_copy(update={"body_idle_timeout_seconds": BODY_IDLE_SECONDS})


@pytest.fixture
def wire(ops_gateway, test_pki) -> Wire:
    host, port = ops_gateway.url.removeprefix("https://").rsplit(":", 1)
    return Wire(host, int(port), test_pki)


def test_the_edge_s_own_refusal_carries_the_request_id_and_is_counted(ops_gateway, wire):
    headers = [("X-Request-ID", "edge-1"), *((f"X-Filler-{n}", "x") for n in range(200))]
    answer = wire.exchange(request(headers=headers))
    assert answer.status_code == 431 and answer.headers["x-request-id"] == "edge-1" and answer.json()["request_id"] == "edge-1"
    with wire.tls() as connection:  # refused before its headers were read: a request id of the gateway's
        connection.sendall(b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n")
        refused = read_response(connection)
    assert refused.status_code == 414 and refused.json()["request_id"] == refused.headers["x-request-id"]
    samples = ops_gateway.scrape()
    assert sample(samples, "gateway_problems_total", type="header-too-large") == 1
    assert sample(samples, "gateway_problems_total", type="target-too-long") == 1


@pytest.mark.slow
def test_a_body_the_edge_cut_is_a_request_without_answer(ops_gateway, wire):
    with wire.tls() as connection:
        connection.sendall(request("POST", "/v1/cases", [("Content-Type", "application/json"), ("Content-Length", "100"),
                                                         ("X-Request-ID", "stalled-1")], b'{"reference": '))
        refused = read_response(connection)  # after BODY_IDLE_SECONDS without a byte
        assert closed_within(connection, 5) is not None
    assert refused.status_code == 408 and refused.json()["request_id"] == "stalled-1"
    samples = ops_gateway.scrape()
    assert sample(samples, "gateway_problems_total", type="request-timeout") == 1
    assert sample(samples, "gateway_http_requests_total", route="unmatched", method="POST", status="499") == 1  # cut before routing
