"""The HTTP/1.1 edge: what a connection may cost the gateway before the app sees a request.

Everything a peer controls before it is authenticated is bounded here, in a subclass of uvicorn's
httptools protocol, so that one client can neither stall the others nor exhaust the process:

- admission: open connections overall, per peer address and per client certificate. A peer over
  its address's share is closed at once, before any TLS work; one over its certificate's share
  gets `503 too-many-connections` to its first request;
- TLS: the handshake runs here (`loop.start_tls`, after admission) with its own timeout, so a
  peer that never starts TLS holds its slot for `tls_handshake_timeout` at most; each connection
  takes the TLS context of the registry version then in force (its CRLs: gateway.security.trust);
- the head of a request: the target (414 `target-too-long`), the header block's bytes and count
  (431 `header-too-large`), counted on the raw bytes before the parser buffers them, and read
  within `header_timeout` of its first byte (408 `request-timeout`);
- the body: idle and total timeouts (408). Time the app spends not reading does not count;
- keep-alive: an idle connection closes, before its first request too;
- the parser's own refusals (a bad Content-Length, a bad chunk, NUL in a header…) are problem
  documents (400 `malformed-request`), not uvicorn's text/plain.

A refusal is written straight to the transport as a problem document, then the connection closes.
The accepted connection also carries its client certificate to the app, in the ASGI `tls`
extension (gateway.security.tls)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import resource
import ssl
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httptools
from starlette.datastructures import Headers
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from gateway.api.problems import MEDIA_TYPE, problem_body, problem_response
from gateway.config import Settings
from gateway.ops.context import RequestContext, request_id_from
from gateway.ops.observer import RequestObserver
from gateway.problems import CATALOGUE, ProblemType, negotiate_language
from gateway.runtime import runtime_in
from gateway.security.identity import peer_is_trusted_proxy
from gateway.security.tls import TLS_VERSIONS, with_client_certificate

log = logging.getLogger(__name__)

# A request line is its target and at most this much more: the method, two spaces, the version, CRLF.
REQUEST_LINE_OVERHEAD = 32
# After a refusal the connection stays open this long, or for this many more bytes (read and
# dropped), so that the answer reaches a client still sending: closing with unread bytes would
# reset the connection and could destroy the answer before the client reads it.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024
# Descriptors kept for everything that is not a client connection: the database pool, blobs being
# written, log files, the listening sockets.
RESERVED_DESCRIPTORS = 64


@dataclass(frozen=True)
class EdgeLimits:
    max_target_bytes: int
    max_header_bytes: int
    max_header_count: int
    tls_handshake_timeout: float
    header_timeout: float
    body_idle_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_connections: int
    max_connections_per_address: int
    max_connections_per_certificate: int
    tls_handshakes_per_address: int
    retry_after_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        return cls(
            max_target_bytes=settings.max_target_bytes, max_header_bytes=settings.max_header_bytes,
            max_header_count=settings.max_header_count, tls_handshake_timeout=settings.tls_handshake_timeout_seconds,
            header_timeout=settings.header_timeout_seconds, body_idle_timeout=settings.body_idle_timeout_seconds,
            body_timeout=settings.body_timeout_seconds, keepalive_timeout=settings.keepalive_timeout_seconds,
            # the public listener's connections come out of the same descriptors
            max_connections=descriptor_bound(settings.max_connections,
                                             settings.database_pool_size + (settings.public_max_connections if settings.public_port else 0)),
            max_connections_per_address=settings.max_connections_per_address,
            max_connections_per_certificate=settings.max_connections_per_certificate,
            tls_handshakes_per_address=settings.tls_handshakes_per_address,
            retry_after_seconds=settings.storage_retry_after_seconds,
        )


def descriptor_bound(configured: int, pool_size: int) -> int:
    """The connection limit, lowered to what the process's descriptor limit can hold beside
    `pool_size` other descriptors: past it, accept() would fail for everyone, the legitimate
    institutions included."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    available = max(1, soft - RESERVED_DESCRIPTORS - pool_size)
    if available < configured:
        log.warning("GATEWAY_MAX_CONNECTIONS lowered from %d to %d: the process may open %d descriptors", configured, available, soft)
    return min(configured, available)


class Admission:
    """Open connections, counted overall, by peer address and by client certificate."""

    def __init__(self, limits: EdgeLimits, exempt_addresses: Any) -> None:
        self.limits = limits
        self.exempt = exempt_addresses  # trusted proxies: every client comes through them
        self.total = 0
        self.by_address: Counter[str] = Counter()
        self.by_certificate: Counter[str] = Counter()
        self.handshaking: Counter[str] = Counter()
        self.waiting: dict[str, deque[tuple[float, Callable[[], bool], Callable[[], None]]]] = {}
        self.refused = 0
        self.last_reported = 0.0

    def admit(self, address: str) -> bool:
        over_address = self.by_address[address] >= self.limits.max_connections_per_address and not self.exempt(address)
        if self.total >= self.limits.max_connections or over_address:
            self._report_refusal("over the overall limit" if not over_address else "over its address's limit")
            return False
        self.total += 1
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.total -= 1
        _decrement(self.by_address, address)

    def handshake(self, address: str, start: Callable[[], bool], abort: Callable[[], None]) -> None:
        """Run `start` (a TLS handshake) now, or once fewer than `tls_handshakes_per_address` of this
        address's are running: a burst of handshakes from one peer (each a few milliseconds of
        the loop's time) queues behind itself instead of delaying everyone else's requests. One
        that waited longer than the handshake timeout is aborted instead. `start` says False for
        a connection that went away while it waited."""
        self.waiting.setdefault(address, deque()).append((time.monotonic(), start, abort))
        self._start_handshakes(address)

    def handshake_done(self, address: str) -> None:
        _decrement(self.handshaking, address)
        self._start_handshakes(address)

    def _start_handshakes(self, address: str) -> None:
        queue = self.waiting.get(address)
        while queue and self.handshaking[address] < self.limits.tls_handshakes_per_address:
            since, start, abort = queue.popleft()
            if time.monotonic() - since > self.limits.tls_handshake_timeout:
                abort()
            elif start():
                self.handshaking[address] += 1
        if not queue:
            self.waiting.pop(address, None)
        if not self.handshaking[address]:
            del self.handshaking[address]

    def admit_certificate(self, fingerprint: str) -> bool:
        if self.by_certificate[fingerprint] >= self.limits.max_connections_per_certificate:
            self._report_refusal("over its certificate's limit")
            return False
        self.by_certificate[fingerprint] += 1
        return True

    def release_certificate(self, fingerprint: str) -> None:
        _decrement(self.by_certificate, fingerprint)

    def _report_refusal(self, why: str) -> None:
        """One line per ten seconds at most: a flood of refused connections must not flood the log."""
        self.refused += 1
        now = time.monotonic()
        if now - self.last_reported >= 10:
            log.warning("refused %d connection(s), the last %s (%d open)", self.refused, why, self.total)
            self.refused, self.last_reported = 0, now


def _decrement(counts: Counter[str], key: str) -> None:
    """One fewer; a key at zero is dropped, so that the counts hold only peers still connected."""
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]


class Edge:
    """One per listening socket: its limits, its TLS context (None behind a TLS-terminating proxy)
    and the admission counts its connections share. `protocol` is uvicorn's `http` class. The
    public listener's edge asks for no client certificate: its context is its own, not the
    registry's, and its connections are counted by address only."""

    def __init__(self, settings: Settings, tls_context: ssl.SSLContext | None, *, client_certificates: bool = True) -> None:
        self.limits = EdgeLimits.from_settings(settings)
        if not client_certificates:
            self.limits = replace(self.limits, max_connections=min(settings.public_max_connections, self.limits.max_connections))
        self.client_certificates = client_certificates
        self.tls_context = tls_context
        networks = settings.proxy_networks
        self.admission = Admission(self.limits, lambda address: peer_is_trusted_proxy(address, networks))

    def protocol(self, **uvicorn_arguments: Any) -> EdgeProtocol:
        return EdgeProtocol(self, **uvicorn_arguments)


class _Refused(Exception):
    """Raised from a parser callback: the request breaks a limit."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(slug)
        self.slug, self.detail = slug, detail


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with the edge's admission, TLS, limits and timeouts."""

    def __init__(self, edge: Edge, **uvicorn_arguments: Any) -> None:
        super().__init__(**uvicorn_arguments)
        self.edge, self.limits = edge, edge.limits
        self.address: str | None = None  # set while admitted: released exactly once
        self.certificate: str | None = None
        self.attached = False  # uvicorn's connection_made has run (after the TLS handshake)
        self.lost = False
        self.early: list[bytes] = []  # bytes that arrived between the handshake and attaching
        self.reading_head = True
        self.head_bytes = 0  # of the head being read, as received
        self.line_end: int | None = None  # where its request line ends, once received
        self.header_count = 0
        self.header_bytes = 0
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.linger_bytes: int | None = None  # set once refused: what may still be read and dropped
        self.handshaking: asyncio.Task | None = None

    # Connection

    def connection_made(self, transport) -> None:  # type: ignore[override]
        address = str((transport.get_extra_info("peername") or ("?",))[0])
        if not self.edge.admission.admit(address):
            if self.edge.tls_context is None:
                self.transport = transport
                refused = CATALOGUE["too-many-connections"]
                self._write_problem(refused, "too many connections", self._refused(refused).request_id, retry_after=True)
            else:
                transport.abort()  # no TLS session yet: nothing can be said
            return
        self.address = address
        if self.edge.tls_context is None:
            self._attach(transport)
        else:
            transport.pause_reading()  # the ClientHello is for the TLS layer start_tls puts in between
            self.edge.admission.handshake(address, lambda: self._start_handshake(transport), transport.abort)

    def _start_handshake(self, raw) -> bool:
        if self.lost:
            return False
        self.handshaking = self.loop.create_task(self._handshake(raw, self.address))  # held: the loop keeps only a weak reference
        return True

    async def _handshake(self, raw, address: str) -> None:
        try:
            tls = await self.loop.start_tls(
                raw, self, self._tls_context(), server_side=True, ssl_handshake_timeout=self.limits.tls_handshake_timeout
            )
        except (OSError, ssl.SSLError, asyncio.TimeoutError, ConnectionError) as exc:
            log.debug("TLS handshake with %s failed: %s", address, exc)
            self._release()
            return
        finally:
            self.edge.admission.handshake_done(address)
        if self.lost:
            self._release()
            return
        self._attach(tls)
        if self.edge.client_certificates:
            self._admit_certificate(tls)
        early, self.early = b"".join(self.early), []
        if early:
            self.data_received(early)

    def _admit_certificate(self, tls) -> None:
        ssl_object: ssl.SSLObject = tls.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True)  # the handshake required one
        fingerprint = hashlib.sha256(der).hexdigest()
        if self.edge.admission.admit_certificate(fingerprint):
            self.certificate = fingerprint
            pem = ssl.DER_cert_to_PEM_cert(der)
            self.app = with_client_certificate(self.app, pem, TLS_VERSIONS.get(ssl_object.version() or ""))
        else:
            self.app = problem_app(CATALOGUE["too-many-connections"], "too many connections for this certificate",
                                   self.limits.retry_after_seconds)

    def _tls_context(self) -> ssl.SSLContext:
        """The context of the registry version in force (its CRLs), which the app's lifespan shares
        with the server as `runtime`; the edge's own before that (or for an app without one)."""
        runtime = runtime_in(self.app_state) if self.edge.client_certificates else None
        trust = runtime.trust if runtime is not None else None
        return trust.tls_context if trust is not None and trust.tls_context is not None else self.edge.tls_context

    def _attach(self, transport) -> None:
        super().connection_made(transport)
        self.attached = True
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._stop_all_timers()
        if self.attached:
            super().connection_lost(exc)
        self._release()

    def _release(self) -> None:
        if self.address is not None:
            self.edge.admission.release(self.address)
            self.address = None
        if self.certificate is not None:
            self.edge.admission.release_certificate(self.certificate)
            self.certificate = None

    # Bytes

    def data_received(self, data: bytes) -> None:
        if self.linger_bytes is not None:
            self.linger_bytes -= len(data)
            if self.linger_bytes < 0:
                self.transport.close()
            return
        if not self.attached:
            self.early.append(data)
            return
        self._unset_keepalive_if_required()
        if self.reading_head:
            if self.line_end is None and b"\n" in data:
                self.line_end = self.head_bytes + data.index(b"\n")
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _Refused):
                raise
            self.refuse(exc.__context__.slug, exc.__context__.detail)
        except httptools.HttpParserUpgrade:
            log.info("refused %s: an upgrade (this gateway speaks HTTP/1.1 only); the connection closes after the answer", self.address)
            if self.cycle is not None:
                self.cycle.keep_alive = False
        except httptools.HttpParserError:
            self.refuse("malformed-request", "not a valid HTTP/1.1 request")
        else:
            # Checked once a read has been parsed (a read is 256 KiB at most): what the parser holds of
            # an unfinished head stays bounded, and a read that ends a head and starts a body is fine.
            if self.reading_head:
                self._check_head_size()

    def _check_head_size(self) -> None:
        if self.line_end is None and self.head_bytes > self.limits.max_target_bytes + REQUEST_LINE_OVERHEAD:
            self.refuse("target-too-long", f"the request target may hold {self.limits.max_target_bytes} bytes")
        elif self.line_end is not None and self.head_bytes - self.line_end > self.limits.max_header_bytes:
            self.refuse("header-too-large", f"the headers may hold {self.limits.max_header_bytes} bytes")

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head, self.header_count, self.header_bytes = True, 0, 0
        self._start_timer("head", self.limits.header_timeout, "the request's headers took too long")

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_target_bytes:
            raise _Refused("target-too-long", f"the request target may hold {self.limits.max_target_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        """Headers counted as parsed; an unfinished head is measured on the raw bytes instead."""
        self.header_count += 1
        self.header_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self.header_count > self.limits.max_header_count:
            raise _Refused("header-too-large", f"a request may carry {self.limits.max_header_count} headers")
        if self.header_bytes > self.limits.max_header_bytes:
            raise _Refused("header-too-large", f"the headers may hold {self.limits.max_header_bytes} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._stop_timer("head")
        self.reading_head = False
        super().on_headers_complete()
        if self._expects_body():
            self._start_timer("body", self.limits.body_timeout, "the request's body took too long")
            self._start_timer("body-idle", self.limits.body_idle_timeout, "the request's body stalled")

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._start_timer("body-idle", self.limits.body_idle_timeout, "the request's body stalled")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_timer("body")
        self._stop_timer("body-idle")
        self.reading_head, self.head_bytes, self.line_end = True, 0, None

    def _expects_body(self) -> bool:
        for name, value in self.headers:
            if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"0", b"")):
                return True
        return False

    # Timers

    def _start_timer(self, name: str, seconds: float, detail: str) -> None:
        self._stop_timer(name)
        self.timers[name] = self.loop.call_later(seconds, self._timed_out, name, seconds, detail)

    def _stop_timer(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _stop_all_timers(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self._unset_keepalive_if_required()

    def _timed_out(self, name: str, seconds: float, detail: str) -> None:
        self.timers.pop(name, None)
        if name == "body-idle" and self.flow is not None and self.flow.read_paused:
            self._start_timer(name, seconds, detail)  # the app is not reading: the wait is ours, not the client's
            return
        self.refuse("request-timeout", detail)

    # Refusals

    def refuse(self, slug: str, detail: str) -> None:
        """Answer the request being read with a problem document, unless its answer has begun (or it
        was answered already, and this is the rest of its body), then close."""
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete
        if in_flight:
            cycle.disconnected = True  # the app, if running, reads a disconnect and writes nothing
            cycle.message_event.set()
        problem = CATALOGUE[slug]
        request = self._refused(problem)
        log.info("refused %s: %s %s", self.scope.get("path", "-") if self.scope else "-", problem.status, slug,
                 extra={"request": request, "status": problem.status})
        if (in_flight and not cycle.response_started) or (not in_flight and self.reading_head):
            self._write_problem(problem, detail, request.request_id)
        else:
            self.transport.close()

    def _refused(self, problem: ProblemType) -> RequestContext:
        """A refusal of the edge's own: counted with the app's problems, and given a request id (the
        client's `X-Request-ID` if it sent a well-formed one before the refusal)."""
        runtime = runtime_in(self.app_state)
        if runtime is not None:
            runtime.metrics.problem(problem.slug)
        return RequestContext(request_id_from(dict(self.headers or []).get(b"x-request-id")), problem=problem.slug)

    def _write_problem(self, problem: ProblemType, detail: str, request_id: str, *, retry_after: bool = False) -> None:
        language = negotiate_language(dict(self.headers or []).get(b"accept-language", b"").decode("latin-1"))
        body = json.dumps(problem_body(problem, language, detail=detail, request_id=request_id), ensure_ascii=False).encode()
        lines = [STATUS_LINE[problem.status]]
        for name, value in [*self.server_state.default_headers, (b"content-type", MEDIA_TYPE.encode()),
                            (b"content-language", language.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), (b"x-request-id", request_id.encode()),
                            *([(b"retry-after", str(self.limits.retry_after_seconds).encode())] if retry_after else [])]:
            lines += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join([*lines, b"\r\n", body]))
        self.linger_bytes = LINGER_BYTES
        self._stop_all_timers()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def problem_app(problem: ProblemType, detail: str, retry_after: int) -> RequestObserver:
    """An ASGI app that answers every request with `problem`, then closes the connection; observed
    (request id, access line, metrics) as the gateway's app is."""

    async def answer(scope, receive, send) -> None:
        response = problem_response(
            Headers(scope=scope), problem, path=scope.get("path"), detail=detail,
            headers={"Connection": "close", "Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)

    return RequestObserver(answer)
