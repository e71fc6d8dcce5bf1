"""Engine and transactions for both engines.

One request is one transaction. On SQLite, write transactions begin IMMEDIATE: the database
write lock is taken up front, so two racing writers queue instead of one failing half-way
with SQLITE_BUSY. On PostgreSQL, writers lock the rows they change (`SELECT … FOR UPDATE`).
"""

from __future__ import annotations

from contextlib import suppress

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gateway.storage import faults

_WRITE = "gateway_write"
DEFAULT_LOCK_TIMEOUT_SECONDS = 10


def _json_dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_engine(url: str, *, foreign_keys: bool = True, lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
                pool_size: int = 20) -> Engine:
    """`foreign_keys=False` is for migrations: SQLite alters a table by rebuilding it, which its
    foreign-key enforcement would refuse while other tables reference it. No statement waits for a
    lock longer than `lock_timeout_seconds`: past that, the write fails as storage-unavailable."""
    parsed = make_url(url)
    timeout_ms = int(lock_timeout_seconds * 1000)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # `pool_size` connections kept open: past SQLAlchemy's default of 5, each further concurrent
        # request opened one (its PRAGMAs, the schema parsed again) and closed it when done. The
        # most recently used first, whose prepared statements are warm.
        engine = create_engine(url, json_serializer=_json_dumps, pool_size=pool_size, pool_use_lifo=True,
                               connect_args={"timeout": lock_timeout_seconds})
        _sqlite_transactions(engine, foreign_keys, timeout_ms)
    else:
        # A fixed pool: overflow connections would be opened and closed again under load. A request
        # that finds every connection busy waits as long as for a lock, then fails as unavailable.
        engine = create_engine(
            url, json_serializer=_json_dumps, pool_pre_ping=True, pool_size=pool_size, max_overflow=0,
            pool_timeout=lock_timeout_seconds, connect_args={"options": f"-c lock_timeout={timeout_ms}"},
        )
    _discard_connections_on_faults(engine)
    return engine


def _discard_connections_on_faults(engine: Engine) -> None:
    """A connection that met a storage fault (read-only, disk full, I/O error) is dropped, so that
    the next request opens a fresh one and the gateway recovers once the fault clears."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context) -> None:
        error = context.sqlalchemy_exception
        if error is not None and faults.is_unavailable(error) and not faults.is_lock_wait(error):
            context.is_disconnect = True
            if engine.dialect.name == "sqlite":
                _release_sqlite_locks(context)


def _release_sqlite_locks(context) -> None:
    """Roll the failed transaction back now. Discarding the connection is not enough: while the
    failed statement is still referenced (by the exception's traceback, until the garbage
    collector runs) SQLite keeps the connection, and its write lock, alive, and every other writer
    waited out the whole lock timeout."""
    pooled = getattr(context.connection, "connection", None)
    dbapi_connection = getattr(pooled, "dbapi_connection", None)
    if dbapi_connection is not None:
        with suppress(Exception):  # the connection is discarded in any case
            dbapi_connection.rollback()


def _sqlite_transactions(engine: Engine, foreign_keys: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def for_writes(engine: Engine) -> Engine:
    """`engine`, whose transactions take SQLite's write lock as they begin (BEGIN IMMEDIATE)."""
    return engine.execution_options(**{_WRITE: True})


class Database:
    """The engine plus session factories for reading and for writing."""

    def __init__(self, url: str, **options) -> None:
        self.engine = make_engine(url, **options)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(for_writes(self.engine), expire_on_commit=False)

    def reader(self) -> Session:
        """A read session, opened without I/O (its connection is taken on first use); the caller
        closes it, which rolls its transaction back and gives the connection back."""
        return self._read()

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        """A session whose transaction is rolled back unless the caller committed it."""
        with (self._write if write else self._read)() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
