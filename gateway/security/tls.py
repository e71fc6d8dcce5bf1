"""Serving mutual TLS with uvicorn, and handing the verified peer certificate to the app.

uvicorn verifies the client certificate during the handshake (CERT_REQUIRED against the client
CA): a connection without a valid one never reaches the app. It does not, however, tell the app
*which* certificate it was. The smallest honest fix is a protocol subclass that reads the peer
certificate from the TLS socket once per connection and publishes it in the ASGI `tls`
extension (https://asgi.readthedocs.io/en/latest/specs/tls.html), which the app reads like any
other scope field. Nothing else of uvicorn is changed.
"""

from __future__ import annotations

import ssl
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TLS_EXTENSION = "tls"


def with_client_certificate(app: Any, peer_certificate_pem: str | None, tls_version: int | None = None) -> Any:
    """Wrap an ASGI app so every HTTP scope carries the connection's client certificate."""
    extension = {"client_cert_chain": [peer_certificate_pem] if peer_certificate_pem else [], "tls_version": tls_version}

    async def app_with_tls(scope, receive, send):
        if scope["type"] == "http":
            scope["extensions"] = {**scope.get("extensions", {}), TLS_EXTENSION: extension}
        await app(scope, receive, send)

    return app_with_tls


_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class MutualTLSProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, plus the peer certificate in the ASGI `tls` extension."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        pem = ssl.DER_cert_to_PEM_cert(der) if der else None
        self.app = with_client_certificate(self.app, pem, _TLS_VERSIONS.get(ssl_object.version() or ""))


def uvicorn_tls_options(cert: str, key: str, client_ca: str) -> dict[str, Any]:
    """uvicorn.Config arguments that require a client certificate signed by `client_ca`."""
    return {
        "ssl_certfile": cert,
        "ssl_keyfile": key,
        "ssl_ca_certs": client_ca,
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
        "http": MutualTLSProtocol,
    }
