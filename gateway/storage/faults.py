"""Which storage errors are the caller's to retry, and which are ours.

Two families matter on the write path:
- conflicts (a deadlock, a serialization failure): the transaction lost a race; the gateway runs it
  again itself, a bounded number of times;
- unavailability (the database unreachable or read-only, the disk full, a lock wait that timed out):
  nothing was committed and nothing will be until the fault clears; the caller is told
  `503 storage-unavailable` with `Retry-After`, and the connection is discarded so that the
  gateway recovers by itself once the fault is gone.
Anything else (a constraint the code should have checked, a bug) stays an internal error.
"""

from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
# PostgreSQL classes 08 (connection), 53 (insufficient resources), 57P (operator intervention),
# and: read-only transaction, lock wait timed out, database starting up.
_UNAVAILABLE_CLASSES = ("08", "53", "57P", "58")
_UNAVAILABLE_SQLSTATES = frozenset({"25006", "55P03"})
# SQLite primary result codes: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
_OS_UNAVAILABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def sqlstate(error: BaseException) -> str | None:
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def is_conflict(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and sqlstate(error) in CONFLICT_SQLSTATES


def is_lock_wait(error: BaseException) -> bool:
    """A lock wait that ran out of time: the connection itself is sound."""
    if not isinstance(error, DBAPIError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    return sqlstate(error) == "55P03" or (code is not None and code & 0xFF in (5, 6))


def is_unavailable(error: BaseException) -> bool:
    """A database or disk fault that nothing but time (or an operator) will fix."""
    if isinstance(error, PoolTimeout):  # every connection busy for longer than the pool waits
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        state = sqlstate(error)
        if state is not None:
            return state in _UNAVAILABLE_SQLSTATES or state.startswith(_UNAVAILABLE_CLASSES)
        code = getattr(error.orig, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_UNAVAILABLE
        return isinstance(error, OperationalError)  # a driver error with no code: no connection
    return isinstance(error, OSError) and error.errno in _OS_UNAVAILABLE
