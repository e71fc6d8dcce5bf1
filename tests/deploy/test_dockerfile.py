"""The Dockerfile cannot be built on these machines (no Docker engine: see the README), so what
can be checked without one is checked here: it copies what exists, installs exactly the lock with
the uv the scripts use, runs as an unprivileged user, and finds the migrations where it puts them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from gateway.storage.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


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
