"""Real gateway processes for the fault tests: `gateway serve` as a subprocess in its own process
group (so SIGKILL takes it whole), on a loopback port, serving the test's database."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from gateway.server import free_port
from tests.conftest import CHECKOUT_PYTHONPATH, POSTGRES_URL, UNLIMITED, TestPki, signer_for

GATEWAY = [sys.executable, "-m", "gateway.cli"]
START_SECONDS = 60.0
POLL_SECONDS = 0.05
# Below uvicorn's keep-alive timeout (5 s): a pooled connection is never one the server is closing,
# so a dropped connection means the gateway dropped a request.
KEEPALIVE_SECONDS = 2.0
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Detected): |^(DETAIL|CONTEXT): |^\[SQL: ")

requires_postgres = pytest.mark.skipif(
    POSTGRES_URL is None, reason="several gateway processes on one database need PostgreSQL (GATEWAY_TEST_POSTGRES_URL unset)"
)


def gateway_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment a gateway process reads its settings from: the test's, nothing inherited. The
    rate limits are off: these tests load the gateway as fast as they can, to check exactly-once."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    env |= {
        "PYTHONPATH": CHECKOUT_PYTHONPATH,
        "GATEWAY_DATABASE_URL": settings.database_url,
        "GATEWAY_PKI_DIR": str(settings.pki_dir),
        "GATEWAY_REGISTRY_FILE": str(settings.registry_file),
        "GATEWAY_BLOB_DIR": str(settings.blob_dir),
        "GATEWAY_OPS_PORT": str(settings.ops_port),
    }
    env |= {f"GATEWAY_{name.upper()}": str(value) for name, value in UNLIMITED.items()}
    return env | overrides


def tls_context(test_pki: TestPki, name: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
    files = test_pki.files(name)
    context.load_cert_chain(files.cert, files.key)
    return context


def institution_http(url: str, test_pki: TestPki, name: str, timeout: float = 30) -> httpx.Client:
    """A bare httpx client that presents `name`'s certificate and signs its writes: no retries,
    so every answer, 5xx included, reaches the test."""
    return httpx.Client(
        base_url=url, verify=tls_context(test_pki, name), auth=signer_for(test_pki, name), timeout=timeout,
        limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
    )


class GatewayProcess:
    """One `gateway serve` process; start again after a kill, on the same port and database."""

    def __init__(self, env: dict[str, str], port: int, test_pki: TestPki, workdir: Path, *,
                 descriptors: int | None = None, log_level: str = "warning") -> None:
        """`descriptors`: the process's limit on open files, to show what it does near it."""
        self.env, self.port, self.test_pki, self.workdir = env, port, test_pki, workdir
        self.descriptors, self.log_level = descriptors, log_level
        self.url = f"https://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"gateway-{self.port}-{self.starts}.log"

    def logged_errors(self) -> list[str]:
        """The exception lines the gateway logged, over all its incarnations: what a failure
        report needs (the logs themselves go with pytest's temporary directories)."""
        logs = (self.workdir / f"gateway-{self.port}-{n}.log" for n in range(1, self.starts + 1))
        return [line[:300] for path in logs if path.exists() for line in logged_lines(path) if EXCEPTION_LINE.match(line)]

    def start(self) -> None:
        self.starts += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [*GATEWAY, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", self.log_level],
                cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=self._limit_descriptors if self.descriptors else None,
            )
        self.wait_until_answering()

    def _limit_descriptors(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.descriptors, self.descriptors))

    def wait_until_answering(self) -> None:
        """Poll GET /v1/me over mutual TLS until the gateway answers, or fail with its log."""
        deadline = time.monotonic() + START_SECONDS
        with httpx.Client(base_url=self.url, verify=tls_context(self.test_pki, "imr"), timeout=2) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    if probe.get("/v1/me").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(POLL_SECONDS)
        self.stop()
        raise RuntimeError(f"the gateway on port {self.port} did not answer:\n{self.log_path.read_text(errors='replace')}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown handler, no flush, no rollback but the database's."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


def logged_lines(path: Path) -> Iterator[str]:
    """A gateway's log as lines of text: a JSON line (GATEWAY_LOG_FORMAT=json) gives its message and
    the lines of its traceback, any other line (uvicorn's before logging is set up) itself."""
    for line in path.read_text(errors="replace").splitlines():
        try:
            logged = json.loads(line)
        except ValueError:
            logged = None
        if not isinstance(logged, dict):
            yield line
            continue
        yield logged["message"]
        yield from logged.get("exception", "").splitlines()


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    for _ in range(count * 10):
        ports.add(free_port())
        if len(ports) == count:
            return sorted(ports)
    raise RuntimeError(f"no {count} distinct free ports")


@pytest.fixture
def start_gateways(settings: Settings, test_pki: TestPki, tmp_path: Path) -> Iterator[Callable[..., list[GatewayProcess]]]:
    """`start_gateways(n, **env_overrides)`: n running gateway processes on the test's database,
    each on its own free port, started side by side. Every process started is stopped (killed if
    need be) at teardown."""
    started: list[GatewayProcess] = []

    def start(count: int, **overrides: str) -> list[GatewayProcess]:
        gateways = [GatewayProcess(gateway_env(settings, **overrides), port, test_pki, tmp_path) for port in free_ports(count)]
        started.extend(gateways)
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(GatewayProcess.start, gateways))
        return gateways

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def start_gateway(start_gateways) -> Callable[..., GatewayProcess]:
    """`start_gateway(**env_overrides)`: one running gateway process (see start_gateways)."""
    return lambda **overrides: start_gateways(1, **overrides)[0]


def run_cli(settings: Settings, *args: str) -> str:
    """`gateway <args>` against the test's set-up; its standard output."""
    result = subprocess.run(
        [*GATEWAY, *args], env=gateway_env(settings), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
