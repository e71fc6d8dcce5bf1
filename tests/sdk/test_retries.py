"""How the SDK waits between attempts: what a 503's Retry-After asks, within its bound. The
conversation is driven by hand (it does no I/O), so no time passes."""

from __future__ import annotations

import httpx

from imr_alomrane_gateway_client.core import Call, ReceiptChecker, Sleep, conversation
from imr_alomrane_gateway_client.trust import TrustRoots

BUSY = {"type": "https://gateway.test/problems/storage-unavailable", "title": "busy", "status": 503}


def test_a_503_is_retried_after_what_retry_after_asks_at_most_the_bound():
    http = httpx.Client(base_url="https://gateway.test")
    checker = ReceiptChecker("gw", "imr", TrustRoots("gw", trust_on_first_use=True))
    steps = conversation(Call("GET", "/v1/me", lambda document: document), http, checker, retries=3, max_retry_after=30)
    request, waits = next(steps), []
    for asked in ("7", "3600"):  # the second asks for more than the client waits
        pause = steps.send(httpx.Response(503, headers={"Retry-After": asked}, json=BUSY, request=request))
        assert isinstance(pause, Sleep)
        waits.append(pause.seconds)
        request = steps.send(None)
    try:
        steps.send(httpx.Response(200, json={"id": "imr"}, request=request))
    except StopIteration as done:
        answered = done.value
    assert waits == [7.0, 30.0] and answered == {"id": "imr"}
