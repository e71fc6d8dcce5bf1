"""`gateway serve` on a fresh directory: development set-up, migrations, HTTPS with mutual TLS,
and the printed `curl` line works as printed. Run twice, it keeps what it made."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.server import free_port
from tests.conftest import CHECKOUT_PYTHONPATH, wait_until
from tests.faults.conftest import GatewayProcess, gateway_env
from tests.wire import client_context

pytestmark = pytest.mark.tls
GATEWAY = [sys.executable, "-m", "gateway.cli"]


def serve(workdir: Path, port: int, ops_port: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {"GATEWAY_PORT": str(port), "GATEWAY_OPS_PORT": str(ops_port), "PYTHONPATH": CHECKOUT_PYTHONPATH}
    process = subprocess.Popen(
        [*GATEWAY, "serve", "--log-level", "warning"], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.strip().startswith("curl "):
            return process, line.strip()
    process.kill()
    raise AssertionError("gateway serve printed no curl line:\n" + "".join(lines))


def call_until_up(command: list[str], workdir: Path) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=30)
        if result.returncode == 0 or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_serve_on_a_fresh_directory_and_the_printed_curl_works(tmp_path):
    port, ops_port = free_port(), free_port()
    for attempt in range(2):  # the second run reuses the PKI, registry and database
        process, curl = serve(tmp_path, port, ops_port)
        try:
            result = call_until_up(shlex.split(curl) + ["--silent", "--show-error", "--fail"], tmp_path)
            assert result.returncode == 0, result.stderr
            assert '"id":"imr"' in result.stdout.replace(" ", "")
            assert httpx.get(f"http://127.0.0.1:{ops_port}/readyz").json()["ready"] is True  # the operations listener, plain HTTP
            no_cert = subprocess.run(
                ["curl", "--silent", "--cacert", "var/pki/ca.pem", f"https://127.0.0.1:{port}/v1/me"], cwd=tmp_path, capture_output=True
            )
            assert no_cert.returncode != 0  # the handshake fails without a client certificate
        finally:
            process.terminate()
            process.wait(20)
        if attempt == 0:
            made = {p: p.stat().st_mtime for p in (tmp_path / "var").rglob("*") if p.is_file() and p.suffix in {".pem", ".key", ".json"}}
    assert made and all(p.stat().st_mtime == mtime for p, mtime in made.items())
    keys = list((tmp_path / "var" / "pki").glob("*.key"))
    assert keys and all(oct(k.stat().st_mode & 0o777) == "0o600" for k in keys)
    assert re.search(r"var/pki/imr\.pem", curl)


def test_sighup_applies_the_registry_with_a_log_line_and_refusals_are_logged(settings, test_pki, tmp_path):
    """SIGHUP once killed the server. Now it applies the registry file again (unchanged here: a log
    line says so) and serving goes on; and the gateway's own lines (a refusal's INFO line) reach the
    server's log."""
    gateway = GatewayProcess(gateway_env(settings), free_port(), test_pki, tmp_path, log_level="info")
    gateway.start()
    try:
        os.killpg(gateway.process.pid, signal.SIGHUP)
        wait_until(lambda: "SIGHUP: registry unchanged" in gateway.log_path.read_text())
        with httpx.Client(base_url=gateway.url, verify=client_context(test_pki, "imr"), timeout=5) as client:
            assert client.get("/v1/me").status_code == 200
            assert client.get("/v1/nowhere").status_code == 404
        assert gateway.process.poll() is None
    finally:
        gateway.stop()
    logged = gateway.log_path.read_text()
    assert "refused /v1/nowhere: 404 not-found" in logged
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]  # JSON lines by default
    missing = next(line for line in lines if line["logger"] == "gateway.access" and line["status"] == 404)
    assert missing["message"] == "GET - 404" and missing["problem_type"] == "not-found" and len(missing["request_id"]) == 32
