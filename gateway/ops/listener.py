"""The operations listener: `/healthz`, `/readyz` and `/metrics` over plain HTTP with no client
certificate, on `GATEWAY_OPS_HOST:GATEWAY_OPS_PORT` (port 0: none), served by the gateway's own
process in its own event loop, beside the gateway's listener (gateway.server starts it once the
app has started, since it reads the app's runtime).

Whatever it asks the database runs on one thread of its own, and is waited for at most
`GATEWAY_OPS_CHECK_TIMEOUT_SECONDS`: a database that hangs holds that thread, never the server's,
and probes keep answering (503, or metrics without the database's figures)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.config import Settings
from gateway.misconfiguration import ConfigurationError, one_line
from gateway.ops.metrics import ScrapedFigures, certificate_expiry
from gateway.runtime import Runtime
from gateway.services.operations import Figures, figures
from gateway.storage.migrations import schema_mismatch

log = logging.getLogger(__name__)
T = TypeVar("T")


def operations_socket(settings: Settings) -> socket.socket | None:
    """The listening socket, bound now so that a port already taken stops the start-up with one
    line naming the setting; None when the listener is off."""
    return listening_socket(settings.ops_host, settings.ops_port, "GATEWAY_OPS", "the operations listener")


def listening_socket(host: str, port: int, prefix: str, listener: str) -> socket.socket | None:
    """A second listener's socket (`prefix`_HOST and `prefix`_PORT name it; port 0: none), bound
    before the database is touched: a port already taken is one ConfigurationError line."""
    if not port:
        return None
    try:
        return socket.create_server((host, port))
    except OSError as error:
        raise ConfigurationError(
            f"{prefix}_HOST / {prefix}_PORT",
            f"cannot listen on {host}:{port}: {os.strerror(error.errno) if error.errno else error}",
            f"set a valid value: a free port on an address of this machine, or {prefix}_PORT=0 to turn {listener} off",
        ) from None


class DatabaseProbe:
    """The operations' database work: one thread, one job of each kind at a time (a probe that comes
    while the last one of its kind still runs waits for that one), each waited for at most `timeout`."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="gateway-ops")
        self._running: dict[str, Future] = {}
        self._lock = threading.Lock()

    async def run(self, kind: str, job: Callable[[], T]) -> T:
        """`job`'s result; TimeoutError past the timeout, or what it raised."""
        with self._lock:
            future = self._running.get(kind)
            if future is None or future.done():
                future = self._running[kind] = self._executor.submit(job)
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class Check:
    name: str
    reason: str | None = None  # one line when failing

    def as_json(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.reason is None, **({"reason": self.reason} if self.reason else {})}


class Operations:
    """What the listener answers from: the runtime, and the probe of its database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.probe = DatabaseProbe(settings.ops_check_timeout_seconds)
        # The certificate this process serves with: read once, as the edge loaded it at start-up.
        self.server_expiry = None if settings.trust_proxy_client_cert else certificate_expiry(settings.server_cert_path)

    async def checks(self) -> list[Check]:
        """The database reachable and at this code's schema, the keys loaded, and whatever the
        runtime's readiness record says is failing (gateway.ops.readiness)."""
        try:
            mismatch = await self.probe.run("schema", self._schema)
            database = [Check("database"), Check("migrations", mismatch)]
        except Exception as failure:
            database = [Check("database", self._failed(failure)), Check("migrations", "not checked: the database did not answer")]
        recorded = [Check(failure.check, failure.reason) for failure in self.runtime.readiness.failures()]
        return [*database, self._keys(), *recorded]

    def _schema(self) -> str | None:
        with self.runtime.database.session(write=False) as session:
            session.execute(text("SELECT 1"))
        return schema_mismatch(self.runtime.database.engine)

    def _keys(self) -> Check:
        try:
            self.runtime.keys  # built at start-up; a later rebuild that failed says why here
        except ConfigurationError as failure:
            return Check("keys", str(failure))
        return Check("keys")

    def _failed(self, failure: Exception) -> str:
        if isinstance(failure, TimeoutError):
            return f"no answer within {self.probe.timeout:g} s"
        return one_line(getattr(failure, "orig", None) or failure)

    async def exposition(self) -> bytes:
        """The counters, then the figures read now (the database's only if it answered in time)."""
        try:
            found: Figures | None = await self.probe.run("figures", self._figures)
        except Exception as failure:
            log.warning("metrics without the database's figures: %s", self._failed(failure))
            found = None
        scraped = CollectorRegistry()
        scraped.register(ScrapedFigures(self.runtime, found, self.server_expiry))
        return generate_latest(self.runtime.metrics.registry) + generate_latest(scraped)

    def _figures(self) -> Figures:
        with self.runtime.database.session(write=False) as session:
            return figures(session, datetime.now(UTC))

    def app(self) -> Starlette:
        async def healthz(request: Request) -> JSONResponse:
            return JSONResponse({"status": "alive"})

        async def readyz(request: Request) -> JSONResponse:
            checks = await self.checks()
            ready = all(check.reason is None for check in checks)
            return JSONResponse({"ready": ready, "checks": [check.as_json() for check in checks]}, status_code=200 if ready else 503)

        async def metrics(request: Request) -> Response:
            return Response(await self.exposition(), media_type=CONTENT_TYPE_LATEST)

        return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)])


class Listener(uvicorn.Server):
    """uvicorn in the gateway server's event loop: signals are the gateway server's to handle."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class SideListener:
    """A uvicorn server on a socket of its own, beside the gateway's, in the same event loop:
    started once the app has started (it reads the app's runtime), stopped before the app is."""

    def __init__(self, server: uvicorn.Server, listening: socket.socket, name: str, scheme: str, serves: str) -> None:
        """Logged once it listens: `<name> on <scheme>://<host>:<port> (<serves>)`."""
        self.server, self.socket, self.name, self.scheme, self.serves = server, listening, name, scheme, serves
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started:
            if self.task.done():
                self.task.result()  # raises what stopped it
                raise RuntimeError(f"the {self.name} stopped at start-up")
            await asyncio.sleep(0.01)
        host, port = self.socket.getsockname()[:2]
        log.info("%s on %s://%s:%d (%s)", self.name, self.scheme, host, port, self.serves)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


class OperationsListener(SideListener):
    def __init__(self, runtime: Runtime, listening: socket.socket) -> None:
        self.operations = Operations(runtime)
        config = uvicorn.Config(self.operations.app(), lifespan="off", log_config=None, access_log=False, server_header=False,
                                timeout_graceful_shutdown=1)
        super().__init__(Listener(config), listening, "operations listener", "http", "/healthz, /readyz, /metrics")

    async def stop(self) -> None:
        await super().stop()
        self.operations.probe.close()
