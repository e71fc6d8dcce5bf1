"""Mutual TLS: the server's TLS context, and handing the verified peer certificate to the app.

The handshake requires a client certificate signed by the client CA (CERT_REQUIRED): a connection
without a valid one never reaches the app. The edge (gateway.edge) runs the handshake and then
publishes *which* certificate it was in the ASGI `tls` extension
(https://asgi.readthedocs.io/en/latest/specs/tls.html), which the app reads like any other scope
field.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from typing import Any

TLS_EXTENSION = "tls"
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def with_client_certificate(app: Any, peer_certificate_pem: str | None, tls_version: int | None = None) -> Any:
    """Wrap an ASGI app so every HTTP scope carries the connection's client certificate."""
    extension = {"client_cert_chain": [peer_certificate_pem] if peer_certificate_pem else [], "tls_version": tls_version}

    async def app_with_tls(scope, receive, send):
        if scope["type"] == "http":
            scope["extensions"] = {**scope.get("extensions", {}), TLS_EXTENSION: extension}
        await app(scope, receive, send)

    return app_with_tls


def server_tls_context(cert: str, key: str, client_ca: str, crl_pem: str = "") -> ssl.SSLContext:
    """TLS 1.2 or later, requiring a client certificate signed by `client_ca` and, given the CA's
    CRLs (gateway.security.crl), not revoked by them."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=client_ca)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if crl_pem:
        _load_crls(context, crl_pem)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


def public_tls_context(cert: str, key: str) -> ssl.SSLContext:
    """The public listener's: TLS 1.2 or later with the same server certificate, asking for no
    client certificate (anyone may verify a receipt)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _load_crls(context: ssl.SSLContext, crl_pem: str) -> None:
    """ssl reads CRLs from a file only (`cadata` takes certificates): through a private temporary one."""
    descriptor, path = tempfile.mkstemp(prefix="gateway-crl-", suffix=".pem")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(crl_pem)
        context.load_verify_locations(cafile=path)
    finally:
        os.unlink(path)
