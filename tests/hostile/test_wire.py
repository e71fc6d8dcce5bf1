"""The catalogue, at the wire: requests the HTTP parser or the edge's limits refuse before the app
sees them. Each answer is still a problem document, then the connection closes."""

from __future__ import annotations

import pytest

from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)
from tests.wire import request, serving

LIMITS = {"max_target_bytes": 1024, "max_header_bytes": 4096, "max_header_count": 20}

PARSER_REFUSALS = {
    "non-numeric Content-Length": request("POST", "/v1/cases", [("Content-Length", "12a")]),
    "negative Content-Length": request("POST", "/v1/cases", [("Content-Length", "-1")]),
    "two different Content-Lengths": request("POST", "/v1/cases", [("Content-Length", "2"), ("Content-Length", "3")]) + b"{}",
    "Content-Length with Transfer-Encoding": request("POST", "/v1/cases", [("Content-Length", "2"), ("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n",
    "a chunk size that is not hexadecimal": request("POST", "/v1/cases", [("Transfer-Encoding", "chunked")]) + b"zz\r\n{}\r\n0\r\n\r\n",
    "NUL in a header value": request(headers=[("Accept-Language", "fr\x00en")]),
    "a header name with a space": request(headers=[("Accept Language", "fr")]),
    "a line folded onto the previous header": b"GET /v1/me HTTP/1.1\r\nHost: gateway\r\nAccept: */*\r\n  folded\r\n\r\n",
    "a garbage request line": b"\x16\x03\x01 hello there\r\n\r\n",
    "a method with a separator": b"G(T /v1/me HTTP/1.1\r\nHost: gateway\r\n\r\n",
    "an unknown HTTP version": b"GET /v1/me HTTP/7.3\r\nHost: gateway\r\n\r\n",
    "a bare LF inside the request line": b"GET /v1/me\nHTTP/1.1\r\nHost: gateway\r\n\r\n",
    "an HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

LIMIT_REFUSALS = {
    "a 100 KB target": (request(target="/v1/cases?q=" + "a" * 100_000), 414, "target-too-long"),
    "a target just over the limit": (request(target="/v1/" + "a" * 1100), 414, "target-too-long"),
    "one header over the block limit": (request(headers=[("X-Padding", "p" * 5000)]), 431, "header-too-large"),
    "a 1 MiB header": (request(headers=[("X-Padding", "p" * 1024 * 1024)]), 431, "header-too-large"),
    "many small headers over the block limit": (request(headers=[(f"X-H{n}", "v" * 300) for n in range(19)]), 431, "header-too-large"),
    "more headers than allowed": (request(headers=[(f"X-H{n}", "v") for n in range(25)]), 431, "header-too-large"),
}


@pytest.fixture(scope="module")
def wire(settings, test_pki):
    """One server for the module: each refusal closes its own connection and writes nothing."""
    with serving(settings, test_pki, **LIMITS) as running:
        yield running


@pytest.mark.tls
@pytest.mark.parametrize("raw", PARSER_REFUSALS.values(), ids=PARSER_REFUSALS.keys())
def test_what_the_parser_refuses_is_a_problem_document(refusals, wire, raw):
    refusals.arranged()
    answer = wire.exchange(raw)
    refusals.check(answer, 400, "malformed-request")
    assert answer.headers["connection"] == "close"


@pytest.mark.tls
@pytest.mark.parametrize(("raw", "status", "slug"), LIMIT_REFUSALS.values(), ids=LIMIT_REFUSALS.keys())
def test_what_breaks_a_limit_is_a_problem_document(refusals, wire, raw, status, slug):
    refusals.arranged()
    answer = wire.exchange(raw)
    refusals.check(answer, status, slug)
    assert answer.headers["connection"] == "close"


@pytest.mark.tls
def test_a_refusal_speaks_the_language_asked_for_when_the_headers_were_read(refusals, wire):
    refusals.arranged()
    answer = wire.exchange(request(headers=[("Accept-Language", "ar")] + [(f"X-H{n}", "v") for n in range(25)]))
    refusals.check(answer, 431, "header-too-large")
    assert answer.headers["content-language"] == "ar"
