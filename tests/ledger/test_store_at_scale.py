"""The store at 100,000 entries: a root, an inclusion proof and a consistency proof each cost one
SELECT of O(log n) rows, and an append a constant number of statements, on both engines."""

from __future__ import annotations

import copy
import hashlib
import math

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event

from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import NoteSigner
from imr_alomrane_gateway_client.signers import Ed25519Key
from gateway.ledger.store import DatabaseNodes, Ledger, NewEntry, write_tree
from gateway.storage.engine import Database

SIZE = 100_000


@pytest.fixture(scope="module")
def big_tree() -> merkle.MemoryTree:
    """A 100,000-entry tree, built once for the module's tests (which must not change it)."""
    tree = merkle.MemoryTree()
    for i in range(SIZE):
        tree.append_leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
    return tree


@pytest.fixture(scope="module")
def arrangement(template, big_tree, tmp_path_factory):
    """Each test's database: a copy of one whose ledger_nodes hold the big tree's complete-subtree
    nodes, written straight in once per engine."""
    url = template.clone(tmp_path_factory.mktemp("big-ledger"))
    database = Database(url)
    with database.session(write=True) as session:
        write_tree(session, big_tree)
        session.commit()
    database.dispose()
    yield template.cloning(url)
    template.drop(url)


@pytest.fixture
def big_ledger(database_url, big_tree):
    database = Database(database_url)
    with database.engine.connect():
        pass  # the dialect's first-connection queries are not the tests' to count
    yield database, big_tree
    database.dispose()


def counting(database):
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def test_proofs_cost_one_select_of_logarithmically_many_rows(big_ledger):
    database, tree = big_ledger
    statements = counting(database)
    bound = 2 * math.ceil(math.log2(SIZE)) + 2
    with database.session(write=False) as session:
        reader, requested = DatabaseNodes(session), []
        real_get = reader.get_nodes
        reader.get_nodes = lambda ids: (requested.append(len(ids)), real_get(ids))[1]
        for name, run, expected in [
            ("root", lambda: merkle.root(SIZE - 1, reader), tree.root(SIZE - 1)),
            ("inclusion", lambda: merkle.inclusion_proof(54_321, SIZE - 1, reader), tree.inclusion_proof(54_321, SIZE - 1)),
            ("consistency", lambda: merkle.consistency_proof(31_337, SIZE - 1, reader), tree.consistency_proof(31_337, SIZE - 1)),
        ]:
            statements.clear()
            requested.clear()
            assert run() == expected, name
            selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 1, (name, statements)
            assert requested[0] <= bound, (name, requested)


def test_an_append_at_100_000_costs_a_constant_number_of_statements(big_ledger):
    database, tree = big_ledger
    ledger = Ledger("test/ledger", NoteSigner("test/ledger", Ed25519Key(Ed25519PrivateKey.generate())))
    statements = counting(database)
    with database.session(write=True) as session:
        appended = ledger.append(session, NewEntry(
            kind="case_opened", detail=None, sender="imr", sender_unit="imr", recipient="al-omrane", recipient_unit="al-omrane",
            case="c", resource="/v1/cases/c", payload_digest="sha-256=:x:", signature_digest="sha-256=:y:",
        ))
        session.commit()
    assert appended.index == SIZE
    grown = copy.copy(tree)
    grown.nodes = dict(tree.nodes)  # the module's tree stays as the other tests expect it
    grown.append_leaf_hash(appended.entry.leaf_hash())
    merkle.verify_inclusion(appended.entry.leaf_hash(), SIZE, SIZE + 1, appended.inclusion, grown.root())
    data = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))]
    assert len(data) <= 6, data


def test_node_reads_use_the_primary_key_not_a_scan(big_ledger):
    """The regression bench/ledger.py once showed (a row-value IN made SQLite scan 2M rows)."""
    database, _ = big_ledger
    statements = counting(database)
    with database.session(write=False) as session:
        merkle.inclusion_proof(54_321, SIZE - 1, DatabaseNodes(session))
        select_sql = next(s for s in statements if s.lstrip().upper().startswith("SELECT"))
    dialect = database.engine.dialect.name
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        if dialect == "sqlite":
            plan = " ".join(str(row) for row in raw.execute(f"EXPLAIN QUERY PLAN {select_sql}", _sqlite_params(select_sql)).fetchall())
            assert "SEARCH" in plan and "SCAN" not in plan, plan
        else:
            connection.exec_driver_sql("ANALYZE ledger_nodes")
            statement = select_sql
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {_inline_pg(statement)}").fetchall())
            assert "Seq Scan" not in plan, plan


def _sqlite_params(sql: str) -> list[int]:
    return [0] * sql.count("?")


def _inline_pg(sql: str) -> str:
    import re

    return re.sub(r"%\(\w+\)s", "0", sql)
