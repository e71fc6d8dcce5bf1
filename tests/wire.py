"""Raw HTTP/1.1 over mutual TLS, for the tests of the edge: bytes no well-behaved client would send,
sent as they are, and the answer read back as the gateway wrote it."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.server import background_gateway
from tests.conftest import TestPki


def client_context(test_pki: TestPki, name: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
    if name is not None:
        files = test_pki.files(name)
        context.load_cert_chain(files.cert, files.key)
    return context


@dataclass
class WireResponse:
    """What `refusals.check` and the tests read of an answer, as httpx would show it."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def read_response(connection: socket.socket) -> WireResponse:
    answer = http.client.HTTPResponse(connection)  # type: ignore[arg-type]
    answer.begin()
    return WireResponse(answer.status, httpx.Headers(answer.getheaders()), answer.read())


@dataclass
class Wire:
    host: str
    port: int
    test_pki: TestPki

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def tcp(self, source: str = "127.0.0.1", timeout: float = 10) -> socket.socket:
        """A plain TCP connection from `source` (any 127.x.y.z address: a different peer to the gateway)."""
        return socket.create_connection((self.host, self.port), timeout=timeout, source_address=(source, 0))

    def tls(self, name: str = "imr", source: str = "127.0.0.1", timeout: float = 10) -> ssl.SSLSocket:
        return client_context(self.test_pki, name).wrap_socket(self.tcp(source, timeout), server_hostname=self.host)

    def exchange(self, raw: bytes, name: str = "imr", timeout: float = 10) -> WireResponse:
        """Send `raw` and read the answer, which may come before all of it was sent: the gateway
        answers a refusal as soon as it sees one, and closes."""
        with self.tls(name, timeout=timeout) as connection:
            try:
                connection.sendall(raw)
            except (ConnectionError, ssl.SSLError):
                pass
            return read_response(connection)

    def client(self, name: str = "imr", **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=client_context(self.test_pki, name), **options)


def request(method: str = "GET", target: str = "/v1/me", headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: gateway", *(f"{name}: {value}" for name, value in headers or [])]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def closed_within(connection: socket.socket, seconds: float) -> float | None:
    """How long until the peer closed `connection` (reading and discarding what it sends), or None."""
    start = time.monotonic()
    connection.settimeout(seconds)
    try:
        while connection.recv(65536):
            pass
    except (TimeoutError, socket.timeout):
        return None
    except (ConnectionError, ssl.SSLError):
        pass
    return time.monotonic() - start


@contextmanager
def serving(settings, test_pki: TestPki, **overrides: Any):
    """A real gateway over mutual TLS on the test's database, with these settings changed."""
    changed = settings.model_copy(update=overrides)
    with background_gateway(changed) as url:
        host, port = url.removeprefix("https://").rsplit(":", 1)
        yield Wire(host, int(port), test_pki)
