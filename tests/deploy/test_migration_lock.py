"""Replicas starting together migrate one at a time (gateway.storage.migrations.upgrade): two
`gateway migrate` processes released at the same instant on an empty database both succeed, and
the schema is built once. Without the turn-taking both engines fail this: PostgreSQL with a lock
timeout or a duplicate table, SQLite with `database is locked` (a deferred BEGIN lets both read
the empty version table, then only one may write)."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from gateway.misconfiguration import ConfigurationError
from gateway.storage import locks
from gateway.storage.engine import for_writes, make_engine
from gateway.storage.migrations import MIGRATION_LOCK, alembic_config, upgrade
from tests.faults.conftest import GATEWAY, gateway_env

# Imports first (the slow part), then waits for the word to go: both upgrades start within milliseconds.
RACER = "import sys; from gateway.cli import main; print('ready', flush=True); sys.stdin.readline(); sys.exit(main(['migrate']))"


def test_two_processes_migrating_an_empty_database_at_once_both_succeed(empty_database_url, settings):
    env = gateway_env(settings, GATEWAY_DATABASE_URL=empty_database_url)
    racers = [subprocess.Popen([GATEWAY[0], "-c", RACER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        assert all(racer.stdout.readline() == "ready\n" for racer in racers)
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outcomes = [racer.communicate(timeout=120) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
    assert [racer.returncode for racer in racers] == [0, 0], [stderr for _, stderr in outcomes]
    assert all(stdout.strip() == "database at head" for stdout, _ in outcomes)
    head = ScriptDirectory.from_config(alembic_config(empty_database_url)).get_current_head()
    engine = sa.create_engine(empty_database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [head]
    engine.dispose()


def test_a_migration_kept_waiting_too_long_stops_with_the_setting_named(database_url):
    """Another process holds the turn (PostgreSQL: the migration lock; SQLite: the write lock) for
    longer than GATEWAY_MIGRATION_LOCK_WAIT_SECONDS."""
    engine = make_engine(database_url)
    with for_writes(engine).connect() as holder, holder.begin():  # SQLite: BEGIN IMMEDIATE
        if holder.dialect.name == "postgresql":
            locks.wait_in_transaction(holder, MIGRATION_LOCK, 1)
        with pytest.raises(ConfigurationError, match="GATEWAY_MIGRATION_LOCK_WAIT_SECONDS"):
            upgrade(database_url, lock_wait_seconds=0.3)
    upgrade(database_url, lock_wait_seconds=0.3)  # released: its turn comes at once
    engine.dispose()
