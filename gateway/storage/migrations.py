"""Applying and checking Alembic migrations: the only way the schema is ever created or changed."""

from __future__ import annotations

import os
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
    expected = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != expected:
        raise RuntimeError(
            f"database schema is at {sorted(current) or 'nothing'}, this code needs {sorted(expected)}: run `gateway migrate`"
        )
