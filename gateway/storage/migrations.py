"""Applying and checking Alembic migrations: the only way the schema is ever created or changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gateway.misconfiguration import ConfigurationError
from gateway.security.encryption import MasterKey
from gateway.storage import faults, locks
from gateway.storage.engine import DEFAULT_LOCK_TIMEOUT_SECONDS, for_writes, make_engine

SOURCE_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
MIGRATION_LOCK = "gateway.migrations"
DEFAULT_LOCK_WAIT_SECONDS = 600


def migrations_dir() -> Path:
    """The checkout's migrations/, or GATEWAY_MIGRATIONS_DIR where the package is installed
    elsewhere (the Docker image installs it into site-packages)."""
    return Path(os.environ.get("GATEWAY_MIGRATIONS_DIR") or SOURCE_MIGRATIONS)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", master_key: MasterKey | None = None, *,
            lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS) -> None:
    """Migrate; data migrations that seal personal data receive the master key this way.

    One process at a time, so that replicas starting together neither race nor fail: the whole
    upgrade is one transaction that waits for its turn (`_turn`), and a process whose turn comes
    second finds the schema already at `revision` and does nothing."""
    config = alembic_config(url)
    config.attributes["master_key"] = master_key
    sqlite = make_url(url).get_backend_name() == "sqlite"
    engine = make_engine(url, foreign_keys=False, lock_timeout_seconds=lock_wait_seconds if sqlite else DEFAULT_LOCK_TIMEOUT_SECONDS)
    try:
        with for_writes(engine).connect() as connection, _turn(connection, lock_wait_seconds):
            config.attributes["connection"] = connection  # migrations/env.py runs on it, inside this transaction
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@contextmanager
def _turn(connection: Connection, wait_seconds: float) -> Iterator[None]:
    """The upgrade's transaction, begun once any other process's upgrade has committed (waiting up
    to `wait_seconds`), committed at the end of the block. PostgreSQL: the transaction takes the
    migration advisory lock first. SQLite: it begins IMMEDIATE, taking the database's write lock
    (a deferred BEGIN would let two processes read the same version and both try the same migration)."""
    try:
        transaction = connection.begin()
        if connection.dialect.name == "postgresql":
            locks.wait_in_transaction(connection, MIGRATION_LOCK, wait_seconds)
    except OperationalError as error:
        if not faults.is_lock_wait(error):
            raise
        raise ConfigurationError(
            "GATEWAY_MIGRATION_LOCK_WAIT_SECONDS", f"another process has been migrating this database for over {wait_seconds:g} s",
            "let it finish, then start this one again (or raise the setting)",
        ) from None
    with transaction:
        yield


def check_up_to_date(engine: Engine) -> None:
    """Refuse to serve on a schema that is behind (or ahead of) this code."""
    if (mismatch := schema_mismatch(engine)) is not None:
        raise RuntimeError(mismatch)


def schema_mismatch(engine: Engine) -> str | None:
    """What keeps the database's schema from being this code's (one line), or None when it is."""
    expected = _heads(migrations_dir())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == expected:
        return None
    return f"database schema is at {sorted(current) or 'nothing'}, this code needs {sorted(expected)}: run `gateway migrate`"


@lru_cache(maxsize=4)
def _heads(directory: Path) -> frozenset[str]:
    """The head revisions of the migration scripts (read once: /readyz asks often)."""
    config = Config()
    config.set_main_option("script_location", str(directory))
    return frozenset(ScriptDirectory.from_config(config).get_heads())
