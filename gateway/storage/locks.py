"""Database-wide locks for work that one process at a time should do (a sweep for reminders, a
migration, a registry apply).

PostgreSQL: an advisory lock. A sweep's is session-level, tried without waiting, held on its own
connection for the work's duration and released at its end (or when the process dies and its
connection goes); a migration's and a registry apply's are waited for and held by the transaction
itself.
SQLite: one embedded database has no other gateway process to share a sweep with, and its write
lock already orders the transactions, so the lock is always granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from gateway.storage.engine import Database


def _key(name: str) -> int:
    """A stable signed 64-bit key for `name` (what pg_try_advisory_lock takes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Held:
    """A lock this process holds until `release`."""

    def __init__(self, name: str, connection: Connection | None) -> None:
        self.name, self._connection = name, connection

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _key(self.name)})
            self._connection.commit()
            self._connection.close()
            self._connection = None


def try_lock(database: Database, name: str) -> Held | None:
    """The lock `name`, if no other process holds it (None: skip this turn)."""
    if database.engine.dialect.name != "postgresql":
        return Held(name, None)
    connection = database.engine.connect()
    if connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _key(name)}).scalar_one():
        connection.commit()
        return Held(name, connection)
    connection.close()
    return None


def wait_in_transaction(connection: Connection, name: str, wait_seconds: float) -> None:
    """Take `name` for the rest of `connection`'s transaction (PostgreSQL; released by its commit or
    rollback, or when the process dies), waiting up to `wait_seconds` for another process to finish
    with it: past that, a lock-timeout error. Later statements keep the connection's own lock timeout."""
    usual = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    connection.execute(text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": f"{int(wait_seconds * 1000)}ms"})
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _key(name)})
    connection.execute(text("SELECT set_config('lock_timeout', :usual, true)"), {"usual": usual})


def for_transaction(session: Session, name: str) -> None:
    """Take `name` for the rest of the session's transaction, waiting for it as for any lock
    (GATEWAY_DATABASE_LOCK_TIMEOUT_SECONDS): the first statement of a write that must not
    interleave with another of its kind (taken before any row lock or counter)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _key(name)})


@contextmanager
def exclusive(database: Database, name: str) -> Iterator[bool]:
    """`with exclusive(db, name) as held:` whether this process holds `name` for the block."""
    held = try_lock(database, name)
    try:
        yield held is not None
    finally:
        if held is not None:
            held.release()
