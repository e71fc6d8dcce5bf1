"""Alembic environment: the URL comes from the caller (`gateway migrate` or the tests), never from a file.
`gateway.storage.migrations.upgrade` also hands over its connection, already in the transaction
that holds the migration lock; without one (a test's downgrade) the environment opens its own."""

from alembic import context
from sqlalchemy import Connection

from gateway.storage.engine import make_engine
from gateway.storage.models import Base

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():  # a no-op inside the caller's transaction
        context.run_migrations()


def run_migrations_online() -> None:
    if (given := config.attributes.get("connection")) is not None:
        run_migrations(given)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), foreign_keys=False)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `gateway migrate` against a database")
run_migrations_online()
