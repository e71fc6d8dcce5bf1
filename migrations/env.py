"""Alembic environment: the URL comes from the caller (`gateway migrate` or the tests), never from a file."""

from alembic import context

from gateway.storage.engine import make_engine
from gateway.storage.models import Base

config = context.config


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"), foreign_keys=False)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `gateway migrate` against a database")
run_migrations_online()
