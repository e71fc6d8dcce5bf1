"""A real uvicorn server with mutual TLS on a free loopback port, serving the test database."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from gateway.app import create_app
from imr_alomrane_gateway_client import GatewayClient
from gateway.server import background_gateway
from tests.conftest import signer_for


@dataclass
class RunningGateway:
    url: str
    requests_seen: list[str]  # paths that reached the app


class _Counting:
    """Records which requests reached the application, to show refused handshakes never do."""

    def __init__(self, app, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)


@pytest.fixture
def tls_gateway(settings) -> RunningGateway:
    seen: list[str] = []
    with background_gateway(settings, _Counting(create_app(settings), seen)) as url:
        yield RunningGateway(url, seen)


@pytest.fixture
def https_client(tls_gateway: RunningGateway, test_pki) -> Callable[..., httpx.Client]:
    """An httpx client that verifies the gateway and presents `name`'s certificate (or none)."""
    clients: list[httpx.Client] = []

    def make(name: str | None, *, files=None) -> httpx.Client:
        """`name` is a test institution; `files` any other certificate/key pair to present."""
        context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
        presented = files or (test_pki.files(name) if name else None)
        if presented is not None:
            context.load_cert_chain(presented.cert, presented.key)
        auth = signer_for(test_pki, name) if name and files is None else None
        client = httpx.Client(base_url=tls_gateway.url, verify=context, timeout=10, auth=auth)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sdk(tls_gateway, test_pki):
    """`sdk(name)`: the institutions' SDK client for `name`, against the running gateway."""
    made = []

    def make(name: str, cls=GatewayClient, **options):
        files = test_pki.files(name)
        client = cls(tls_gateway.url, name, ca=test_pki.dev.ca_cert, cert=files.cert, key=files.key,
                     signing_key=files.signing_key, **(test_pki.trust | options))
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, GatewayClient):
            client.close()
