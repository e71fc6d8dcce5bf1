"""Applying and checking Alembic migrations: the only way the schema is ever created or changed."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gateway.security.encryption import MasterKey

SOURCE_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def migrations_dir() -> Path:
    """The checkout's migrations/, or GATEWAY_MIGRATIONS_DIR where the package is installed
    elsewhere (the Docker image installs it into site-packages)."""
    return Path(os.environ.get("GATEWAY_MIGRATIONS_DIR") or SOURCE_MIGRATIONS)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", master_key: MasterKey | None = None) -> None:
    """Migrate; data migrations that seal personal data receive the master key this way."""
    config = alembic_config(url)
    config.attributes["master_key"] = master_key
    command.upgrade(config, revision)


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
