"""Gap-free counters that commit in the order they were taken.

`UPDATE … SET value = value + 1` locks the counter row until the transaction ends (PostgreSQL
row lock; SQLite database write lock), so a later value can never become visible before an
earlier one, and an aborted transaction gives its value back. Readers that resume "after
value N" therefore never skip anything.
"""

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from gateway.storage.models import Sequence
from gateway.storage.upsert import insert_ignore


_COUNTERS = Sequence.__table__
_ADVANCE = (
    update(_COUNTERS).where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + bindparam("by")).returning(_COUNTERS.c.value)
)


def advance(session: Session, name: str, by: int = 1) -> int:
    """Take the next `by` values; returns the last of them."""
    connection = session.connection()
    value = connection.execute(_ADVANCE, {"counter": name, "by": by}).scalar_one_or_none()
    if value is None:
        ensure(session, name)
        value = connection.execute(_ADVANCE, {"counter": name, "by": by}).scalar_one()
    return value


def ensure(session: Session, name: str) -> None:
    """Create the counter at 0 unless it exists; concurrent creators do not conflict."""
    insert_ignore(session, Sequence, [{"name": name, "value": 0}])


def set_value(session: Session, name: str, value: int) -> None:
    """Move a counter (only for seeding a store, e.g. a benchmark's ledger)."""
    ensure(session, name)
    session.execute(update(Sequence).where(Sequence.name == name).values(value=value))
