"""Storage faults answer 503 storage-unavailable with Retry-After, record nothing, and the gateway
recovers by itself once they clear, with no restart.

The faults are real database states: on PostgreSQL a database turned read-only or closed to new
connections under the running gateway; on SQLite every connection made read-only, or the
database file capped at its current size (SQLITE_FULL, as on a full disk)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

from tests.factories import case_payload, message

BIG_BODY = "Pièces justificatives détaillées – مستندات مفصلة. " * 350  # about 18 kB: needs new pages


def _on_every_connection(app, pragma: str) -> Callable[[], None]:
    """SQLite: make every gateway connection run `pragma` (the ones pooled now are dropped first)."""
    engine = app.state.runtime.database.engine

    def run(dbapi_connection, _record) -> None:
        dbapi_connection.execute(pragma)

    event.listen(engine, "connect", run)
    engine.pool.dispose()
    return lambda: event.remove(engine, "connect", run)


@contextmanager
def _postgres_database_setting(database_url: str, setting: str) -> Iterator[None]:
    """PostgreSQL: change the database under the gateway, and cut its sessions so they reconnect."""
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database

    def apply(statement: str) -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(statement.format(name=name))
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )

    try:
        apply(f'ALTER DATABASE "{{name}}" {setting}')
        yield
    finally:
        undo = "ALLOW_CONNECTIONS true" if "ALLOW_CONNECTIONS" in setting else "RESET default_transaction_read_only"
        apply(f'ALTER DATABASE "{{name}}" {undo}')
        admin.dispose()


@contextmanager
def read_only(app, database_url: str) -> Iterator[None]:
    if make_url(database_url).get_backend_name() == "sqlite":
        clear = _on_every_connection(app, "PRAGMA query_only = ON")
        try:
            yield
        finally:
            clear()
    else:
        with _postgres_database_setting(database_url, "SET default_transaction_read_only = on"):
            yield


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "/problems/storage-unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert "receipt" not in response.headers


def recovered(send: Callable[[], object], attempts: int = 25):
    """The first answer that is not 503: connections that met the fault are dropped one by one."""
    for _ in range(attempts):
        response = send()
        if response.status_code != 503:
            return response
        assert_unavailable(response)
    raise AssertionError(f"still unavailable after {attempts} attempts")



def test_a_read_only_database_refuses_writes_with_503_and_the_gateway_recovers(ledger_size, app, imr, omrane, database_url):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    with read_only(app, database_url):
        assert_unavailable(omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement")))
        assert_unavailable(imr.post("/v1/cases", json=case_payload()))
        assert imr.get(f"/v1/cases/{case_id}").status_code == 200  # reading still works
    sent = recovered(lambda: omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement")))
    assert sent.status_code == 201 and "receipt" in sent.headers
    assert [m["kind"] for m in imr.get(f"/v1/cases/{case_id}").json()["messages"]] == ["acknowledgement"]
    assert ledger_size() == 2


def _no_one_holds_the_write_lock(database_url: str) -> bool:
    """Whether a new SQLite connection gets the write lock without waiting."""
    connection = sqlite3.connect(make_url(database_url).database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def test_a_full_disk_refuses_writes_with_503_and_nothing_half_done(ledger_size, app, imr, omrane, database_url):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite's file size cap stands in for a full disk; PostgreSQL's disk cannot be filled here")
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    with app.state.runtime.database.engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    clear = _on_every_connection(app, f"PRAGMA max_page_count = {pages}")
    gc.disable()  # what held the write lock was a failed statement the garbage collector had yet to free
    try:
        answers = [omrane.post(f"/v1/cases/{case_id}/messages", json=message("note", BIG_BODY)) for _ in range(10)]
        assert _no_one_holds_the_write_lock(database_url)  # the refused writes let go of it at once
    finally:
        gc.enable()
        clear()
    assert {a.status_code for a in answers} <= {201, 503} and 503 in {a.status_code for a in answers}
    for refused in (a for a in answers if a.status_code == 503):
        assert_unavailable(refused)
    accepted = sum(a.status_code == 201 for a in answers)
    assert recovered(lambda: omrane.post(f"/v1/cases/{case_id}/messages", json=message("note"))).status_code == 201
    assert len(imr.get(f"/v1/cases/{case_id}").json()["messages"]) == accepted + 1
    assert ledger_size() == 1 + accepted + 1


def test_an_unreachable_database_answers_503_to_reads_and_writes_then_recovers(ledger_size, app, imr, database_url):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("an embedded SQLite database cannot become unreachable")
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    with _postgres_database_setting(database_url, "ALLOW_CONNECTIONS false"):
        assert_unavailable(imr.get(f"/v1/cases/{case_id}"))
        assert_unavailable(imr.post("/v1/cases", json=case_payload()))
    assert recovered(lambda: imr.get(f"/v1/cases/{case_id}")).status_code == 200
    assert recovered(lambda: imr.post("/v1/cases", json=case_payload())).status_code == 201
    assert ledger_size() == 2
