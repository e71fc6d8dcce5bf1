"""No client can stall or exhaust the gateway: slow senders are cut at the configured timeouts,
greedy ones at the connection limits, while another institution keeps being answered quickly.

Real sockets against a real gateway, on SQLite only: the edge runs before any database, and these
tests spend their time waiting on timeouts. `--edge-seconds` sets how long the slow-loris attack
lasts (a few seconds in CI; the issue's figure is 20)."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import ssl
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import httpx
import pytest

from gateway.server import free_port
from tests.faults.conftest import GatewayProcess, gateway_env
from tests.wire import Wire, client_context, closed_within, read_response, request, serving

pytestmark = [pytest.mark.tls, pytest.mark.slow, pytest.mark.parametrize("template", ["sqlite"], indirect=True)]

TIMEOUTS = {
    "header_timeout_seconds": 2.0, "body_idle_timeout_seconds": 2.0, "body_timeout_seconds": 4.0,
    "keepalive_timeout_seconds": 2.0, "tls_handshake_timeout_seconds": 2.0,
}
ATTACKER = "127.0.0.2"  # another peer address than the legitimate client's 127.0.0.1
ANSWER_WITHIN = 0.2


class Legitimate:
    """Al Omrane asking for /v1/me every 50 ms on one kept-alive connection, timing each answer."""

    def __init__(self, wire) -> None:
        self.wire, self.latencies, self.failures = wire, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.wire.client("al-omrane", timeout=5) as client:
            while not self.stop.is_set():
                start = time.monotonic()
                try:
                    status = client.get("/v1/me").status_code
                except Exception as exc:  # any failure is what the test reports
                    self.failures.append(repr(exc))
                else:
                    self.latencies.append(time.monotonic() - start)
                    if status != 200:
                        self.failures.append(status)
                self.stop.wait(0.05)

    def __enter__(self) -> Legitimate:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)


def slow_loris(host: str, port: int, files: tuple[str, str, str], seconds: float, connections: int) -> list[tuple[float, bytes]]:
    """The attack, run in a process of its own (its TLS work must not slow the legitimate client's
    interpreter): `connections` connections that send a header line every half second, each
    reconnecting when cut, for `seconds`. Returns how long each was held, and the status line it got."""
    ca, cert, key = files
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    cuts: list[tuple[float, bytes]] = []

    async def one(until: float) -> None:
        while time.monotonic() < until:
            reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host, local_addr=(ATTACKER, 0))
            start = time.monotonic()
            writer.write(b"GET /v1/me HTTP/1.1\r\nHost: gateway\r\n")
            while True:
                try:
                    answer = await asyncio.wait_for(reader.read(4096), 0.5)
                    break
                except asyncio.TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")
            cuts.append((time.monotonic() - start, answer.split(b"\r\n", 1)[0]))
            writer.close()

    async def attack() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(one(until) for _ in range(connections)))

    asyncio.run(attack())
    return cuts


@pytest.fixture
def edge_seconds(request) -> float:
    return request.config.getoption("--edge-seconds")


@pytest.fixture
def gateway_process(settings, test_pki, tmp_path):
    """`gateway_process(descriptors=None, **settings)`: `gateway serve` in a process of its own, so
    that neither the attack nor the legitimate client (a thread of this one) shares its interpreter."""
    started: list[GatewayProcess] = []

    def start(descriptors: int | None = None, **overrides) -> Wire:
        env = gateway_env(settings, **{f"GATEWAY_{name.upper()}": str(value) for name, value in overrides.items()})
        gateway = GatewayProcess(env, free_port(), test_pki, tmp_path, descriptors=descriptors)
        started.append(gateway)
        gateway.start()
        return Wire("127.0.0.1", gateway.port, test_pki)

    yield start
    for gateway in started:
        gateway.stop()


def test_slow_loris_connections_are_cut_at_the_header_timeout_while_others_are_served(gateway_process, test_pki, edge_seconds):
    """100 connections trickle a header line every half second, reconnecting when cut, for the
    whole attack; each is cut with 408 at the header timeout, and Al Omrane is answered throughout."""
    wire = gateway_process(max_connections_per_address=200, max_connections_per_certificate=200, **TIMEOUTS)
    files = tuple(str(path) for path in (test_pki.dev.ca_cert, test_pki.files("imr").cert, test_pki.files("imr").key))
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool, Legitimate(wire) as legitimate:
        attack = pool.submit(slow_loris, wire.host, wire.port, files, edge_seconds, 100)
        cuts = attack.result(timeout=edge_seconds + 60)
    assert len(cuts) >= 100
    assert {status for _, status in cuts} == {b"HTTP/1.1 408 Request Timeout"}
    held = sorted(seconds for seconds, _ in cuts)
    assert held[0] >= TIMEOUTS["header_timeout_seconds"] - 0.1 and held[-1] < TIMEOUTS["header_timeout_seconds"] + 1.5
    assert not legitimate.failures
    latencies = sorted(legitimate.latencies)
    slowest, typical = latencies[-1], latencies[int(0.95 * (len(latencies) - 1))]
    print(f"\nslow-loris: {len(cuts)} slow connections cut after {held[0]:.2f}-{held[-1]:.2f} s; "
          f"{len(latencies)} legitimate answers, 95th percentile {typical * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms")
    # Served throughout: 95 % of the answers within the bound; one answer on a shared two-core
    # machine may take longer (0.47 s seen once), never a stall of the attack's length.
    assert typical < ANSWER_WITHIN and slowest < 1.0


def test_a_header_bomb_is_refused_at_once_while_others_are_served(settings, test_pki):
    with serving(settings, test_pki) as wire, Legitimate(wire) as legitimate:
        time.sleep(0.3)
        with wire.tls("imr", source=ATTACKER) as connection:
            start = time.monotonic()
            try:
                connection.sendall(request(headers=[("X-Bomb", "b" * 1024 * 1024)]))
            except (ConnectionError, ssl.SSLError):
                pass  # refused before it was all sent
            answer = read_response(connection)
            elapsed = time.monotonic() - start
        time.sleep(0.3)
    print(f"\nheader bomb: 1 MiB header refused in {elapsed * 1000:.0f} ms; legitimate slowest {max(legitimate.latencies) * 1000:.0f} ms")
    assert answer.status_code == 431 and answer.json()["type"] == "/problems/header-too-large"
    assert elapsed < 0.1
    assert not legitimate.failures and max(legitimate.latencies) < ANSWER_WITHIN


@pytest.mark.parametrize(("body", "pause", "limit"), [
    (b"", 0, "body_idle_timeout_seconds"),  # headers, then nothing
    (b"{", 0.5, "body_timeout_seconds"),  # a byte every half second: never idle long, never done
])
def test_a_stalled_or_trickled_body_is_cut_with_408(settings, test_pki, engine_sql, body, pause, limit):
    with serving(settings, test_pki, **TIMEOUTS) as wire, wire.tls("imr") as connection:
        before = engine_sql("SELECT count(*) FROM ledger_entries").scalar()
        start = time.monotonic()
        connection.sendall(request("POST", "/v1/cases", [("Content-Type", "application/json"), ("Content-Length", "1000")]))
        connection.settimeout(0.05)
        answer = b""
        while not answer and time.monotonic() - start < 10:
            if pause:
                connection.sendall(body)
            try:
                answer = connection.recv(65536)
            except (TimeoutError, ssl.SSLError, OSError):
                time.sleep(pause)
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 ") and b"/problems/request-timeout" in answer
    assert TIMEOUTS[limit] - 0.1 <= elapsed < TIMEOUTS[limit] + 1
    assert engine_sql("SELECT count(*) FROM ledger_entries").scalar() == before


def test_idle_connections_and_unfinished_handshakes_are_closed(settings, test_pki):
    with serving(settings, test_pki, **TIMEOUTS) as wire:
        with wire.tls("imr") as silent, wire.tcp() as never_tls:
            silent_after = closed_within(silent, 10)
            never_tls_after = closed_within(never_tls, 10)
    assert silent_after is not None and silent_after < TIMEOUTS["keepalive_timeout_seconds"] + 1
    assert never_tls_after is not None and never_tls_after < TIMEOUTS["tls_handshake_timeout_seconds"] + 1


def test_one_address_over_its_share_is_closed_at_once(settings, test_pki):
    with serving(settings, test_pki, max_connections_per_address=3, **TIMEOUTS) as wire:
        held = [wire.tcp(source=ATTACKER) for _ in range(3)]
        try:
            with wire.tcp(source=ATTACKER) as extra:
                refused_after = closed_within(extra, 1)
            with wire.client("al-omrane", timeout=5) as other:
                assert other.get("/v1/me").status_code == 200
        finally:
            for connection in held:
                connection.close()
    assert refused_after is not None and refused_after < 0.5


def test_one_certificate_over_its_share_gets_503(settings, test_pki):
    with serving(settings, test_pki, max_connections_per_certificate=2) as wire:
        held = [wire.tls("imr") for _ in range(2)]
        try:
            over = wire.exchange(request(), "imr")
            other = wire.exchange(request(), "al-omrane")
        finally:
            for connection in held:
                connection.close()
        time.sleep(0.2)  # the gateway sees the held connections close
        again = wire.exchange(request(), "imr")
    assert over.status_code == 503 and over.json()["type"] == "/problems/too-many-connections"
    assert over.headers["retry-after"] and over.headers["connection"] == "close"
    assert other.status_code == 200 and again.status_code == 200


def test_one_client_cannot_exhaust_the_descriptors(settings, test_pki, tmp_path):
    """A gateway process allowed 256 descriptors, and 400 connections from one address that never
    start TLS: past its address's share they are closed at once, so Al Omrane is still served."""
    port = free_port()
    gateway = GatewayProcess(gateway_env(settings, GATEWAY_TLS_HANDSHAKE_TIMEOUT_SECONDS="5"), port, test_pki, tmp_path, descriptors=256)
    gateway.start()
    opened = []
    try:
        for _ in range(400):
            opened.append(socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0)))
        time.sleep(0.5)
        still_open = sum(closed_within(connection, 0.01) is None for connection in opened)
        with httpx.Client(base_url=gateway.url, verify=client_context(test_pki, "al-omrane"), timeout=5) as client:
            answers = [client.get("/v1/me").status_code for _ in range(20)]
    finally:
        for connection in opened:
            connection.close()
        gateway.stop()
    assert answers == [200] * 20
    assert still_open == 64  # GATEWAY_MAX_CONNECTIONS_PER_ADDRESS's default
