"""`INSERT … ON CONFLICT` for both engines, so concurrent start-ups and first writers never collide."""

from collections.abc import Sequence as Rows
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@lru_cache(maxsize=None)
def _insert_ignoring(dialect: str, table: Table):
    """Built once per table: building a statement costs more than executing its cached form."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def insert_ignore(session: Session, model: type[DeclarativeBase], rows: Rows[dict[str, Any]]) -> int:
    """Insert the rows that do not exist yet; returns how many were inserted. A Core statement on
    the session's connection: it is on the write path, and it needs nothing of the ORM."""
    if not rows:
        return 0
    # Parameters apart from the statement (not `.values(rows)`), so that its compiled form is cached.
    statement = _insert_ignoring(session.get_bind().dialect.name, model.__table__)
    # Count RETURNING rows: psycopg reports rowcount -1 for this statement.
    connection = session.connection()
    return sum(len(connection.execute(statement, row).all()) for row in rows)


def upsert(session: Session, model: type[DeclarativeBase], rows: Rows[dict[str, Any]], keys: list[str]) -> None:
    """Insert rows, or update every non-key column of the existing ones."""
    if not rows:
        return
    statement = _insert(session, model.__table__).values(list(rows))
    updates = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))
