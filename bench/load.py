"""Throughput and latency of the write path under concurrent load, measured so that the load
generator does not measure itself.

Run: .venv/bin/python bench/load.py [--quick] [--engines sqlite,postgresql]
     full (default): SQLite and a durable PostgreSQL 15, about 5 minutes;
     --quick: SQLite only unless --engines says otherwise, short windows, under 2 minutes (for CI).

The server under test is the real gateway (`create_app`, served by uvicorn with the project's
mutual-TLS options from `server_config`) in a subprocess pinned to one core, on scratch settings
(development PKI, registry, migrated database). The load generator is this process, pinned to
another core: raw asyncio TLS streams (uvloop), one coroutine per keep-alive HTTP/1.1 connection,
writing request bytes built and signed before each timed window (each write has its own jti and
Idempotency-Key; each batch is signed just before its window, well within the signature's skew).

Each window runs a fixed number of requests or for a fixed time, whichever ends first, after a
short warm-up on the same connections. Server CPU is utime+stime from /proc/<pid>/stat (all the
process's threads) before and after the window; the generator reports its own CPU as a share of
the wall time, so a generator near 100 % says the figure is the generator's, not the server's.
`foreign` is the share of the server core that other processes took meanwhile (from /proc/stat):
on a shared machine, a cell with a high one was disturbed.

- baseline: a bare FastAPI app on the same uvicorn, TLS options, pinning and generator; POST parses
  the case body into the contract's CaseCreate and answers a small JSON, GET answers a JSON of a
  case's size. Writes are compared with its POST, reads with its GET, at the same connection count.
- postgresql: a throwaway cluster started by `scripts/postgres start DIR --durable` (fsync and
  synchronous_commit on), pinned to the server core too, so the gateway and its database share one
  core; the PostgreSQL processes' CPU is reported apart (db CPU). On SQLite it is in the server's.
- postgresql x2: two gateway processes on two ports, both pinned to the same server core, the
  connections alternating between them (one connection uses the first only).

Non-2xx answers are counted (warm-up included). The exit status is 1 if any answer was a 5xx or a
connection broke; no speed target is asserted, figures and ratios are only printed. The full
results go to var/bench/load-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import fastapi
import sqlalchemy
import uvicorn
import uvloop

from bench.exchange import PAYLOAD
from imr_alomrane_gateway_client import CaseCreate, GatewayClient
from imr_alomrane_gateway_client.auth import RequestSigner
from gateway.config import Settings
from imr_alomrane_gateway_client.signing import SIGNATURE_HEADER, content_digest
from gateway.security.dev import trust_roots
from gateway.server import free_port, scratch_settings, server_config

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CORES = sorted(os.sched_getaffinity(0))
SERVER_CORE, GENERATOR_CORE = CORES[0], CORES[-1]
CONNECTIONS = (1, 8, 32)
CASES = 64  # the message workload spreads over these, so connections do not all queue on one case lock
NOTE = {"kind": "note", "body": "Suivi en cours. المتابعة جارية."}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_references = itertools.count(1)


@dataclass(frozen=True)
class Profile:
    window_seconds: float
    max_requests: int
    warmup_per_connection: int
    engines: tuple[str, ...]


FULL = Profile(window_seconds=5.0, max_requests=8000, warmup_per_connection=5, engines=("sqlite", "postgresql"))
QUICK = Profile(window_seconds=1.0, max_requests=2000, warmup_per_connection=2, engines=("sqlite",))


# --- the servers ------------------------------------------------------------------------------


def baseline_app() -> fastapi.FastAPI:
    """What any FastAPI service over this TLS set-up costs: parse a case body, answer a case-sized JSON."""
    app = fastapi.FastAPI()
    document = {
        "id": str(uuid.uuid4()), "reference": "BASELINE/1", "status": "open", **PAYLOAD, "messages": [],
        "times": {"opened_at": datetime.now(UTC).isoformat(), "deadline": datetime.now(UTC).isoformat()},
        "signed_request": {"signature": "e" * 420, "body": json.dumps({**PAYLOAD, "reference": "BASELINE/1"}, ensure_ascii=False)},
    }

    @app.post("/cases", status_code=201)
    def open_case(payload: CaseCreate) -> dict[str, str]:
        return {"id": str(uuid.uuid4()), "reference": payload.reference}

    @app.get("/cases/{case_id}")
    def get_case(case_id: str) -> dict:
        return document

    return app


def serve(app_name: str, port: int, core: int) -> None:
    """The server subprocess: pinned before uvicorn or the app start a thread; settings from GATEWAY_*."""
    os.sched_setaffinity(0, {core})
    settings = Settings(_env_file=None)
    app = baseline_app() if app_name == "baseline" else None
    uvicorn.Server(server_config(settings, app, host=HOST, port=port, log_level="warning")).run()


def settings_environment(settings: Settings) -> dict[str, str]:
    return {f"GATEWAY_{name.upper()}": str(value) for name, value in settings.model_dump(exclude_defaults=True).items()}


def wait_until_listening(process: subprocess.Popen, port: int) -> None:
    """uvicorn binds after the app's start-up, so an accepted connection means ready."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with status {process.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server on port {port} did not start")


@contextmanager
def servers(app_name: str, settings: Settings, count: int) -> Iterator[list[tuple[int, int]]]:
    """`count` server processes on the server core, started one after the other (each loads the
    registry at start-up); yields their (pid, port)."""
    started: list[tuple[subprocess.Popen, int]] = []
    environment = {**os.environ, **settings_environment(settings)}
    try:
        for _ in range(count):
            port = free_port(HOST)
            command = [sys.executable, __file__, "--serve", app_name, "--port", str(port), "--core", str(SERVER_CORE)]
            started.append((subprocess.Popen(command, env=environment, cwd=ROOT), port))
            wait_until_listening(*started[-1])
        yield [(process.pid, port) for process, port in started]
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def pinned(core: int) -> Iterator[None]:
    """Processes started inside inherit the core."""
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


@contextmanager
def durable_postgresql() -> Iterator[tuple[str, int]]:
    """A throwaway crash-safe cluster on the server core; yields its URL and the postmaster's pid."""
    script = str(ROOT / "scripts" / "postgres")
    with tempfile.TemporaryDirectory(prefix="gateway-bench-pg-") as state:
        try:
            with pinned(SERVER_CORE):
                started = subprocess.run([script, "start", state, "--durable"], check=True, capture_output=True, text=True)
            cluster = Path((Path(state) / "cluster-path").read_text().strip())
            postmaster = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
            yield started.stdout.strip().splitlines()[-1], postmaster
        finally:
            subprocess.run([script, "stop", state], check=False)


# The benchmark measures the write path, not the rate limiter: its one client sends far more than a
# unit may (gateway.api.rate_limits), so the limits are off for the server under test.
UNLIMITED = {"rate_limit_unit_per_second": 0, "rate_limit_institution_per_second": 0}


@contextmanager
def engine_settings(engine: str) -> Iterator[tuple[Settings, int | None]]:
    """Scratch settings on the engine, and the pid of a database server to meter (None: in-process)."""
    if engine == "sqlite":
        with scratch_settings(**UNLIMITED) as settings:
            yield settings, None
    elif engine == "postgresql":
        with durable_postgresql() as (url, postmaster), scratch_settings(database_url=url, **UNLIMITED) as settings:
            yield settings, postmaster
    else:
        raise SystemExit(f"unknown engine {engine!r}: sqlite or postgresql")


# --- CPU --------------------------------------------------------------------------------------


def _stat(pid: int | str) -> list[str]:
    """/proc/<pid>/stat from field 3 on (the command name, field 2, may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: every thread's


def tree_cpu_seconds(root: int) -> float:
    """A process and its children (PostgreSQL's postmaster and its backends): the live ones, and
    those already gone (a pool's overflow connections come and go), which the root's cutime and
    cstime count once it has reaped them."""
    fields = _stat(root)
    total = _cpu_seconds(fields) + (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)
            except OSError:
                continue  # gone meanwhile
            total += _cpu_seconds(fields) if int(fields[1]) == root else 0.0
    return total


def core_busy_seconds(core: int) -> float:
    """Time the core spent on anything but idling, whoever ran there (/proc/stat)."""
    line = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith(f"cpu{core} "))
    user, nice, system, idle, iowait, irq, softirq, steal = (int(value) for value in line.split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass(frozen=True)
class CpuSeconds:
    server: float
    database: float | None  # None: the database runs inside the server (SQLite)
    generator: float
    server_core: float  # all the server core's busy time, ours and other processes'

    def __sub__(self, earlier: CpuSeconds) -> CpuSeconds:
        database = None if self.database is None or earlier.database is None else self.database - earlier.database
        return CpuSeconds(self.server - earlier.server, database, self.generator - earlier.generator,
                          self.server_core - earlier.server_core)

    @property
    def foreign(self) -> float:
        """What other processes (another job on a shared machine) took from the server core."""
        return max(0.0, self.server_core - self.server - (self.database or 0.0))


@dataclass(frozen=True)
class CpuMeter:
    server_pids: list[int]
    database_pid: int | None

    def read(self) -> CpuSeconds:
        """CPU used so far by the servers, the database (if apart) and this generator."""
        database = tree_cpu_seconds(self.database_pid) if self.database_pid else None
        servers = sum(_cpu_seconds(_stat(pid)) for pid in self.server_pids)
        return CpuSeconds(servers, database, time.process_time(), core_busy_seconds(SERVER_CORE))


# --- requests ---------------------------------------------------------------------------------


def http_request(method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}", *(f"{name}: {value}" for name, value in (headers or {}).items())]
    if method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def signed_write(signer: RequestSigner, target: str, payload: dict) -> bytes:
    """A write as the SDK sends it: its own signature (fresh jti and iat) and Idempotency-Key."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    digest = content_digest(body)
    headers = {"Content-Digest": digest, SIGNATURE_HEADER: signer.sign("POST", target, digest), "Idempotency-Key": uuid.uuid4().hex}
    return http_request("POST", target, body, headers)


def new_case() -> dict:
    return {**PAYLOAD, "reference": f"LOAD/{next(_references)}"}


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "post" or "get": which baseline it is compared with
    institution: str  # whose client certificate the connections present
    build: Callable[[int], list[bytes]]


def signer(settings: Settings, institution: str) -> RequestSigner:
    return RequestSigner.from_key_file(institution, settings.pki_dir / f"{institution}-signing.key", settings.gateway_id)


def baseline_workloads(settings: Settings) -> list[Workload]:
    imr = signer(settings, "imr")  # signed like the gateway's writes, so the bytes on the wire match
    return [
        Workload("post", "post", "imr", lambda n: [signed_write(imr, "/cases", new_case()) for _ in range(n)]),
        Workload("get", "get", "imr", lambda n: [http_request("GET", f"/cases/{i % CASES}") for i in range(n)]),
    ]


def gateway_workloads(settings: Settings, case_ids: list[str]) -> list[Workload]:
    """`get` first, while the cases' timelines are still empty; then the two writes."""
    imr, omrane = signer(settings, "imr"), signer(settings, "al-omrane")
    return [
        Workload("get", "get", "imr", lambda n: [http_request("GET", f"/v1/cases/{case_ids[i % CASES]}") for i in range(n)]),
        Workload("message", "post", "al-omrane", lambda n: [
            signed_write(omrane, f"/v1/cases/{case_ids[i % CASES]}/messages", NOTE) for i in range(n)
        ]),
        Workload("open", "post", "imr", lambda n: [signed_write(imr, "/v1/cases", new_case()) for _ in range(n)]),
    ]


def open_cases(settings: Settings, port: int) -> list[str]:
    """The cases the message and get workloads use, opened through the SDK (not timed)."""
    with GatewayClient.from_pki_dir(f"https://{HOST}:{port}", "imr", settings.pki_dir, **trust_roots(settings)) as imr:
        return [imr.open_case(CaseCreate(**new_case())).value.id for _ in range(CASES)]


# --- the generator ----------------------------------------------------------------------------


def client_context(pki_dir: Path, institution: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki_dir / "ca.pem"))
    context.load_cert_chain(pki_dir / f"{institution}.pem", pki_dir / f"{institution}.key")
    return context


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Status and body length: status line, headers, then a Content-Length or chunked body."""
    status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return int(status_line.split()[1]), await read_chunked(reader)
    length = int(headers.get("content-length", 0))
    await reader.readexactly(length)
    return int(status_line.split()[1]), length


async def read_chunked(reader: asyncio.StreamReader) -> int:
    length = 0
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        length += len(await reader.readexactly(size + 2)) - 2  # the chunk and its CRLF
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailer fields
    return length


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    response_bytes: int = 0
    transport_errors: int = 0


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def drive(streams: list[Stream], requests: deque[bytes], deadline: float) -> Outcome:
    """Every connection sends the next request as soon as its previous answer is in, until the
    requests or the time run out; a broken connection stops and is counted."""
    outcome = Outcome()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while requests and time.perf_counter() < deadline:
            request = requests.popleft()
            start = time.perf_counter()
            try:
                writer.write(request)
                status, length = await read_response(reader)
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                outcome.transport_errors += 1
                return
            outcome.latencies.append(time.perf_counter() - start)
            outcome.statuses[status] += 1
            outcome.response_bytes += length

    await asyncio.gather(*(connection(*stream) for stream in streams))
    return outcome


@dataclass
class Cell:
    server: str
    workload: str
    kind: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float  # per request
    database_cpu_ms: float | None  # per request
    generator_cpu_share: float
    foreign_cpu_share: float  # of the server core, taken by processes not in the benchmark
    response_bytes: float  # mean body length
    statuses: dict[int, int]
    transport_errors: int
    ratio: float | None = None  # req/s over the baseline's for the same kind and connections

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500) + self.transport_errors


def percentile(sorted_samples: list[float], fraction: float) -> float:
    return sorted_samples[min(len(sorted_samples) - 1, int(fraction * len(sorted_samples)))] if sorted_samples else float("nan")


@dataclass(frozen=True)
class Window:
    warmup: Outcome
    timed: Outcome
    seconds: float
    cpu: CpuSeconds


async def measure_window(ports: list[int], context: ssl.SSLContext, connections: int, warmup: list[bytes],
                         timed: list[bytes], seconds: float, meter: CpuMeter) -> Window:
    """Connect (handshakes untimed), warm up, then the timed window between two CPU readings."""
    streams = await asyncio.gather(*(
        asyncio.open_connection(HOST, ports[i % len(ports)], ssl=context, limit=1 << 20) for i in range(connections)
    ))
    try:
        warm = await drive(streams, deque(warmup), float("inf"))
        before, start = meter.read(), time.perf_counter()
        outcome = await drive(streams, deque(timed), start + seconds)
        elapsed, after = time.perf_counter() - start, meter.read()
    finally:
        for _, writer in streams:
            writer.close()
        await asyncio.gather(*(writer.wait_closed() for _, writer in streams), return_exceptions=True)
    return Window(warm, outcome, elapsed, after - before)


def run_cell(server: str, workload: Workload, connections: int, ports: list[int], meter: CpuMeter,
             pki_dir: Path, profile: Profile) -> Cell:
    warmup = workload.build(connections * profile.warmup_per_connection)
    timed = workload.build(profile.max_requests)  # signed now: iat stays well within the allowed skew
    context = client_context(pki_dir, workload.institution)
    window = uvloop.run(measure_window(ports, context, connections, warmup, timed, profile.window_seconds, meter))
    timed_outcome, count = window.timed, len(window.timed.latencies)
    latencies, per_request = sorted(timed_outcome.latencies), 1000 / count if count else float("nan")
    return Cell(
        server=server, workload=workload.name, kind=workload.kind, connections=connections, requests=count,
        seconds=window.seconds, p50_ms=percentile(latencies, 0.50) * 1000, p99_ms=percentile(latencies, 0.99) * 1000,
        server_cpu_ms=window.cpu.server * per_request,
        database_cpu_ms=window.cpu.database * per_request if window.cpu.database is not None else None,
        generator_cpu_share=window.cpu.generator / window.seconds if window.seconds else float("nan"),
        foreign_cpu_share=window.cpu.foreign / window.seconds if window.seconds else float("nan"),
        response_bytes=timed_outcome.response_bytes / count if count else 0.0,
        statuses=dict(window.warmup.statuses + timed_outcome.statuses),
        transport_errors=window.warmup.transport_errors + timed_outcome.transport_errors,
    )


def run_workloads(server: str, workloads: list[Workload], pids_ports: list[tuple[int, int]], database_pid: int | None,
                  settings: Settings, profile: Profile) -> list[Cell]:
    meter = CpuMeter([pid for pid, _ in pids_ports], database_pid)
    ports = [port for _, port in pids_ports]
    cells = []
    for workload in workloads:
        for connections in CONNECTIONS:
            cells.append(run_cell(server, workload, connections, ports, meter, settings.pki_dir, profile))
            print_row(cells[-1], flush=True)
    return cells


def measure_baseline(profile: Profile) -> list[Cell]:
    with scratch_settings(**UNLIMITED) as settings, servers("baseline", settings, 1) as pids_ports:
        return run_workloads("baseline", baseline_workloads(settings), pids_ports, None, settings, profile)


def measure_engine(engine: str, profile: Profile) -> list[Cell]:
    """One gateway process; on PostgreSQL, two as well, sharing the database and the server core."""
    cells = []
    with engine_settings(engine) as (settings, database_pid):
        for workers in (1, 2) if engine == "postgresql" else (1,):
            with servers("gateway", settings, workers) as pids_ports:
                case_ids = open_cases(settings, pids_ports[0][1])
                label = engine if workers == 1 else f"{engine} x{workers}"
                cells += run_workloads(label, gateway_workloads(settings, case_ids), pids_ports, database_pid, settings, profile)
    return cells


# --- report -----------------------------------------------------------------------------------

HEADER = (f"{'server':<15}{'workload':<9}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'srv CPU':>9}{'db CPU':>8}"
          f"{'gen CPU':>9}{'foreign':>8}{'resp B':>8}{'ratio':>7}{'non-2xx':>9}")


def print_row(cell: Cell, flush: bool = False) -> None:
    database = f"{cell.database_cpu_ms:.2f}" if cell.database_cpu_ms is not None else "-"
    ratio = f"{cell.ratio:.2f}" if cell.ratio is not None else "-"
    broken = f" +{cell.transport_errors} broken" if cell.transport_errors else ""
    print(f"{cell.server:<15}{cell.workload:<9}{cell.connections:>6}{cell.rate:>9.0f}{cell.p50_ms:>9.2f}{cell.p99_ms:>9.2f}"
          f"{cell.server_cpu_ms:>9.2f}{database:>8}{cell.generator_cpu_share:>8.0%}{cell.foreign_cpu_share:>8.0%} {cell.response_bytes:>7.0f}{ratio:>7}"
          f"{cell.non_2xx:>9}{broken}", flush=flush)


def add_ratios(cells: list[Cell]) -> None:
    baseline = {(cell.kind, cell.connections): cell.rate for cell in cells if cell.server == "baseline"}
    for cell in cells:
        if cell.server != "baseline" and baseline.get((cell.kind, cell.connections)):
            cell.ratio = cell.rate / baseline[(cell.kind, cell.connections)]


def machine_info() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": model, "cores": os.cpu_count(),
        "server_core": SERVER_CORE, "generator_core": GENERATOR_CORE, "python": platform.python_version(),
        "uvicorn": uvicorn.__version__, "sqlalchemy": sqlalchemy.__version__, "fastapi": fastapi.__version__,
        "uvloop": uvloop.__version__, "commit": commit,
    }


def write_results(machine: dict, profile: Profile, cells: list[Cell]) -> Path:
    directory = ROOT / "var" / "bench"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"load-{machine['date'].replace(':', '')}.json"
    results = [{**asdict(cell), "rate": cell.rate, "non_2xx": cell.non_2xx} for cell in cells]
    path.write_text(json.dumps({"machine": machine, "profile": asdict(profile), "cells": results}, indent=2))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short windows, SQLite only unless --engines says otherwise")
    parser.add_argument("--engines", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--serve", choices=["gateway", "baseline"], help=argparse.SUPPRESS)  # the server subprocess
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.core)
        return 0
    profile = QUICK if args.quick else FULL
    engines = args.engines.split(",") if args.engines else profile.engines
    machine = machine_info()
    print(" ".join(f"{name}={value}" for name, value in machine.items()))
    if SERVER_CORE == GENERATOR_CORE:
        print("warning: one core only, so the generator and the server share it")
    print("srv/db CPU: ms per request; gen CPU: the generator's CPU over the window's wall time; foreign: the server "
          "core's time taken by other processes (a disturbed cell); resp B: mean body size")
    print(HEADER, flush=True)
    os.sched_setaffinity(0, {GENERATOR_CORE})
    cells = measure_baseline(profile)
    for engine in engines:
        cells += measure_engine(engine, profile)
    add_ratios(cells)
    print(f"\n{HEADER}")
    for cell in cells:
        print_row(cell)
    print(f"\nresults: {write_results(machine, profile, cells).relative_to(ROOT)}")
    failures = sum(cell.failures for cell in cells)
    if failures:
        print(f"FAILED: {failures} answers were 5xx or connections broke")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
