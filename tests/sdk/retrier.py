"""A client process that opens a case and is killed while retrying it: its first attempt is
stored by the gateway, the answer lost; it says `retrying` as it sends the second attempt, and
waits there for the SIGKILL (tests/sdk/test_never_misreported.py).

    python -m tests.sdk.retrier '<JSON: url, unit, client options, payload, idempotency_key>'
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import httpx

from imr_alomrane_gateway_client import CaseCreate, GatewayClient
from imr_alomrane_gateway_client import core

FILES = ("ca", "cert", "key", "signing_key")


def main(arguments: dict) -> None:
    options = {name: Path(value) if name in FILES else value for name, value in arguments["options"].items()}
    client = GatewayClient(arguments["url"], arguments["unit"], **options)
    real_send, posts = client.http.send, []

    def send(request, **kwargs):
        if request.method != "POST":
            return real_send(request, **kwargs)
        posts.append(request)
        if len(posts) == 1:
            real_send(request, **kwargs)  # stored by the gateway; the answer never arrives
            raise httpx.ReadError("connection reset", request=request)
        print("retrying", flush=True)
        time.sleep(60)  # killed here
        raise AssertionError("not killed")

    client.http.send = send
    core.backoff = lambda attempt: 0.0
    client.open_case(CaseCreate.model_validate(arguments["payload"]), idempotency_key=arguments["idempotency_key"])


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
