"""Running the gateway: in the foreground (`gateway serve`) or on a free loopback port in a
background thread (the demo, and the tests that need real sockets)."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from gateway.app import create_app
from gateway.config import Settings
from gateway.edge import Edge
from gateway.ops import hangup
from gateway.api.public import PUBLIC_ROUTES, serving_publicly
from gateway.ops.listener import Listener, OperationsListener, SideListener, listening_socket, operations_socket
from gateway.ops.logs import logging_config
from gateway.runtime import runtime_in
from gateway.security.dev import ensure_dev_setup
from gateway.security.tls import public_tls_context, server_tls_context
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
        "access_log": False,  # the app's own access log replaces uvicorn's (gateway.ops.observer)
    }
    return uvicorn.Config(app or create_app(settings), **{**defaults, **options})


def build_route_contexts(app: Any) -> None:
    """FastAPI builds a router's route contexts (their models) when a request first reaches it,
    some 0.2 s for all of them: a server builds them all before it listens, so that no client's
    first request waits for them (the edge answers within its bounds from the first request on)."""
    if isinstance(app, FastAPI):
        for _ in iter_route_contexts(app.routes):
            pass


@dataclass(frozen=True)
class Sockets:
    """The side listeners' sockets, bound before the database is touched (None: that one is off)."""

    operations: socket.socket | None = None
    public: socket.socket | None = None

    @classmethod
    def bound(cls, settings: Settings) -> Sockets:
        """Bound now: a port already taken stops the start-up with one line naming its setting."""
        operations = operations_socket(settings)
        try:
            return cls(operations, listening_socket(settings.public_host, settings.public_port, "GATEWAY_PUBLIC", "the public listener"))
        except BaseException:
            if operations is not None:
                operations.close()
            raise


def public_listener(settings: Settings, app: Any, listening: socket.socket, state: dict[str, Any]) -> SideListener:
    """The public listener (gateway.api.public): the gateway's app, its public routes only, over TLS
    with the server certificate and no client certificate (plain HTTP behind the proxy, as the main
    listener), through an edge of its own; it shares the app's lifespan state (its runtime)."""
    tls = None if settings.trust_proxy_client_cert else public_tls_context(str(settings.server_cert_path), str(settings.server_key_path))
    config = uvicorn.Config(
        serving_publicly(app), lifespan="off", log_config=None, access_log=False, server_header=False, proxy_headers=False,
        ws="none", loop="asyncio", http=Edge(settings, tls, client_certificates=False).protocol,
        timeout_keep_alive=settings.keepalive_timeout_seconds, timeout_graceful_shutdown=1,
    )

    class Public(Listener):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            self.lifespan.state.update(state)
            await super().startup(sockets)

    return SideListener(Public(config), listening, "public listener", "http" if tls is None else "https",
                        ", ".join(PUBLIC_ROUTES))


class GatewayServer(uvicorn.Server):
    """uvicorn serving the gateway, and beside it the operations listener (gateway.ops.listener) and
    the public listener (gateway.api.public), started once the app has started (they answer from
    the app's runtime) and stopped before the app is."""

    def __init__(self, config: uvicorn.Config, sockets: Sockets) -> None:
        super().__init__(config)
        self.sockets = sockets
        self.beside: list[SideListener] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        build_route_contexts(self.config.app)
        await super().startup(sockets)
        runtime = runtime_in(self.lifespan.state)
        if runtime is None:
            return
        if self.sockets.operations is not None:
            self.beside.append(OperationsListener(runtime, self.sockets.operations))
        if self.sockets.public is not None:
            self.beside.append(public_listener(runtime.settings, self.config.app, self.sockets.public, self.lifespan.state))
        for listener in self.beside:
            await listener.start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """The side listeners stop, and inbox reads waiting for events answer at once rather than holding the shutdown up."""
        for listener in self.beside:
            await listener.stop()
        if (runtime := runtime_in(self.lifespan.state)) is not None:
            runtime.inbox_signals.close()
        await super().shutdown(sockets)


def serve_forever(settings: Settings, sockets: Sockets, *, log_level: str = "info", **options: Any) -> None:
    """Serve until SIGINT or SIGTERM, with the side listeners on `sockets` (bound by the caller:
    `Sockets.bound`). SIGHUP applies the registry file and the CRLs again
    (gateway.ops.hangup); every other setting is read at start-up only. Every log line (uvicorn's,
    the gateway's, the access log) goes to stderr in `GATEWAY_LOG_FORMAT`, at `log_level`."""
    hangup.install()
    config = server_config(settings, log_level=log_level, log_config=logging_config(settings.log_format, log_level), **options)
    if not settings.trust_proxy_client_cert:
        log.info("mutual TLS on https://%s:%d (the edge runs TLS itself: uvicorn's start-up line says http)", config.host, config.port)
    GatewayServer(config, sockets).run()


@contextmanager
def scratch_settings(**overrides: Any) -> Iterator[Settings]:
    """A complete set-up in a temporary directory, gone afterwards: development PKI and registry,
    migrated database (SQLite in the directory unless `database_url` names another), blob store;
    no operations or public listener unless `ops_port` or `public_port` is given. For the demo and the benchmarks."""
    with tempfile.TemporaryDirectory(prefix="gateway-") as directory:
        root = Path(directory)
        defaults = dict(
            database_url=f"sqlite:///{root / 'gateway.db'}", pki_dir=root / "pki", registry_file=root / "registry.json",
            blob_dir=root / "blobs", ops_port=0, public_port=0,
        )
        settings = Settings(_env_file=None, **{**defaults, **overrides})
        ensure_dev_setup(settings.pki_dir, settings.registry_file)
        upgrade(settings.database_url, lock_wait_seconds=settings.migration_lock_wait_seconds)
        yield settings


@contextmanager
def background_gateway(settings: Settings, app: Any = None, *, log_level: str = "warning") -> Iterator[str]:
    """Serve on a free loopback port until the block ends; yields the base URL. The operations and
    public listeners are where the settings say (set `ops_port`, `public_port` to a free port to
    reach them; 0: none)."""
    port = free_port()
    scheme = "http" if settings.trust_proxy_client_cert else "https"
    server = GatewayServer(
        server_config(settings, app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=1),
        Sockets.bound(settings),
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
