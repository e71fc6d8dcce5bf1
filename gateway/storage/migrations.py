"""Applying and checking Alembic migrations: the only way the schema is ever created or changed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from gateway.security.encryption import MasterKey

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
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
