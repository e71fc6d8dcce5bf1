"""`INSERT … ON CONFLICT` for both engines, so concurrent start-ups and first writers never collide."""

from collections.abc import Sequence as Rows
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_ignore(session: Session, model: type[DeclarativeBase], rows: Rows[dict[str, Any]]) -> int:
    """Insert the rows that do not exist yet; returns how many were inserted. A Core statement on
    the session's connection: it is on the write path, and it needs nothing of the ORM."""
    if not rows:
        return 0
    statement = _insert(session, model.__table__).values(list(rows)).on_conflict_do_nothing()
    # Count RETURNING rows: psycopg reports rowcount -1 for this statement.
    return len(session.connection().execute(statement.returning(*model.__table__.primary_key.columns)).all())


def upsert(session: Session, model: type[DeclarativeBase], rows: Rows[dict[str, Any]], keys: list[str]) -> None:
    """Insert rows, or update every non-key column of the existing ones."""
    if not rows:
        return
    statement = _insert(session, model.__table__).values(list(rows))
    updates = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates))
