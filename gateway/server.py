"""Running the gateway: in the foreground (`gateway serve`) or on a free loopback port in a
background thread (the demo, and the tests that need real sockets)."""

from __future__ import annotations

import copy
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from gateway.app import create_app
from gateway.config import Settings
from gateway.edge import Edge
from gateway.ops import hangup
from gateway.security.dev import ensure_dev_setup
from gateway.security.tls import server_tls_context
from gateway.storage.migrations import upgrade

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def server_config(settings: Settings, app: Any = None, **options: Any) -> uvicorn.Config:
    """uvicorn serving HTTPS that requires a client certificate from the client CA, or, behind a
    TLS-terminating proxy, plain HTTP for that proxy alone. Either way through the edge
    (gateway.edge), which runs the TLS handshake itself: uvicorn is given no TLS settings. The loop
    is asyncio's own: the edge holds a new connection's bytes back until the TLS layer takes them
    (it pauses reading in `connection_made`), which uvloop does not honour.

    uvicorn's own proxy-header handling is always off: it would take the client address from
    `X-Forwarded-For`, and the address is what decides whether a forwarded certificate is trusted."""
    tls = None if settings.trust_proxy_client_cert else server_tls_context(
        str(settings.server_cert_path), str(settings.server_key_path), str(settings.client_ca_path)
    )
    defaults = {
        "host": settings.host, "port": settings.port, "proxy_headers": False, "server_header": False, "ws": "none", "loop": "asyncio",
        "http": Edge(settings, tls).protocol, "timeout_keep_alive": settings.keepalive_timeout_seconds,
    }
    return uvicorn.Config(app or create_app(settings), **{**defaults, **options})


def serve_forever(settings: Settings, *, log_level: str = "info", **options: Any) -> None:
    """Serve until SIGINT or SIGTERM. SIGHUP applies the registry file and the CRLs again
    (gateway.ops.hangup); every other setting is read at start-up only. The gateway's own log
    lines (refusals, faults) go where uvicorn's go, at the same level."""
    hangup.install()
    logging_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    logging_config["loggers"]["gateway"] = {"handlers": ["default"], "level": log_level.upper(), "propagate": False}
    config = server_config(settings, log_level=log_level, log_config=logging_config, **options)
    if not settings.trust_proxy_client_cert:
        log.info("mutual TLS on https://%s:%d (the edge runs TLS itself: uvicorn's start-up line says http)", config.host, config.port)
    uvicorn.Server(config).run()


@contextmanager
def scratch_settings(**overrides: Any) -> Iterator[Settings]:
    """A complete set-up in a temporary directory, gone afterwards: development PKI and registry,
    migrated database (SQLite in the directory unless `database_url` names another), blob store.
    For the demo and the benchmarks."""
    with tempfile.TemporaryDirectory(prefix="gateway-") as directory:
        root = Path(directory)
        defaults = dict(
            database_url=f"sqlite:///{root / 'gateway.db'}", pki_dir=root / "pki", registry_file=root / "registry.json",
            blob_dir=root / "blobs",
        )
        settings = Settings(_env_file=None, **{**defaults, **overrides})
        ensure_dev_setup(settings.pki_dir, settings.registry_file)
        upgrade(settings.database_url, lock_wait_seconds=settings.migration_lock_wait_seconds)
        yield settings


@contextmanager
def background_gateway(settings: Settings, app: Any = None, *, log_level: str = "warning") -> Iterator[str]:
    """Serve on a free loopback port until the block ends; yields the base URL."""
    port = free_port()
    scheme = "http" if settings.trust_proxy_client_cert else "https"
    server = uvicorn.Server(
        server_config(settings, app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
