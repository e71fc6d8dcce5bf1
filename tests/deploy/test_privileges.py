"""deploy/postgres/privileges.sql sets default privileges: a table the owner creates after it ran
(a later migration) is usable by the runtime role without running the file again, while the
ledger stays insert-and-read only (tests/ledger has the full list of what the role may not do).
And a gateway running as that role (compose.yaml's replicas) may start: its migration at start-up
finds the schema at head and needs no privilege it lacks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gateway.storage.migrations import upgrade
from tests.conftest import POSTGRES_URL, apply_runtime_role

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="needs the PostgreSQL test cluster (scripts/test starts it; always in CI)"),
    pytest.mark.parametrize("template", ["postgresql"], indirect=True),
]


def test_a_table_created_later_by_the_owner_gets_the_runtime_roles_grants(template, database_url, engine_sql):
    runtime = sa.create_engine(apply_runtime_role(database_url))
    engine_sql("CREATE TABLE later_migration (id bigserial PRIMARY KEY, note text NOT NULL)")  # as the owner, afterwards
    try:
        with runtime.begin() as connection:
            connection.exec_driver_sql("INSERT INTO later_migration (note) VALUES ('a'), ('b')")  # its sequence too
            connection.exec_driver_sql("UPDATE later_migration SET note = 'c' WHERE id = 1")
            connection.exec_driver_sql("DELETE FROM later_migration WHERE id = 2")
            assert connection.exec_driver_sql("SELECT id, note FROM later_migration").all() == [(1, "c")]
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), runtime.begin() as connection:
            connection.exec_driver_sql("UPDATE ledger_entries SET kind = 'x'")
        apply_runtime_role(database_url)  # run again (after the next migration): nothing changes, nothing fails
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), runtime.begin() as connection:
            connection.exec_driver_sql("DELETE FROM ledger_entries")
    finally:
        runtime.dispose()


def test_the_runtime_role_starts_on_a_migrated_database_but_cannot_alter_it(template, database_url):
    runtime_url = apply_runtime_role(database_url)
    upgrade(runtime_url)  # at head: the turn is taken, nothing to do
    runtime = sa.create_engine(runtime_url)
    with pytest.raises(sa.exc.ProgrammingError, match="must be owner|permission denied"), runtime.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE cases ADD COLUMN smuggled text")
    runtime.dispose()
