"""The write path's structure: every write goes through the one unit of work, which alone commits,
and a write costs a bounded number of statements and one commit."""

from __future__ import annotations

import ast
import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from gateway.api.deps import WRITE_METHODS, get_exchange, get_streamed_exchange
from gateway.services import inbox
from gateway.storage import faults
from tests.factories import case_payload, message

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
# Statements one signed message costs today, BEGIN and COMMIT included (the target is 10: see bench/).
STATEMENTS_PER_MESSAGE = 14


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _api_routes(routes) -> Iterator[APIRoute]:
    """Every endpoint, through included routers (FastAPI keeps those as lazy `_IncludedRouter`s)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_every_write_route_runs_in_the_write_unit_of_work(app):
    writes = [route for route in _api_routes(app.routes) if route.methods & WRITE_METHODS]
    assert writes, "no write route found"
    bypassing = [route.path for route in writes if not {get_exchange, get_streamed_exchange} & set(_calls(route.dependant))]
    assert not bypassing, f"write routes outside the exchange: {bypassing}"


def _commits(path: Path) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"]


def test_only_the_exchange_commits_a_request():
    """Routers and services never commit: the exchange commits a request's work with its evidence."""
    committing = {
        str(path.relative_to(GATEWAY)): lines
        for folder in ("api", "services", "domain", "ledger")
        for path in (GATEWAY / folder).rglob("*.py")
        if path.name != "exchange.py" and (lines := _commits(path))
    }
    assert not committing, f"commits outside gateway/services/exchange.py: {committing}"


@contextmanager
def counted(app) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    engine = app.state.runtime.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_signed_message_costs_one_commit_and_a_bounded_number_of_statements(app, imr, omrane):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"))
    with counted(app) as statements:
        sent = omrane.post(f"/v1/cases/{case_id}/messages", json=message("note"), headers={"Idempotency-Key": "n-1"})
    assert sent.status_code == 201
    assert statements.count("COMMIT") <= 1, statements
    assert len(statements) <= STATEMENTS_PER_MESSAGE, statements


class _Deadlock(Exception):
    sqlstate = "40P01"  # what psycopg reports for "deadlock detected"


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE sequences …", {}, _Deadlock())


def test_a_write_that_lost_a_deadlock_runs_again_and_takes_effect_once(ledger_size, app, imr, omrane, monkeypatch):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    real, calls = inbox.deliver, []

    def deadlocked_once(session, notices):
        calls.append(len(calls))
        if len(calls) == 1:
            raise _deadlock()
        return real(session, notices)

    monkeypatch.setattr(inbox, "deliver", deadlocked_once)
    sent = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"), headers={"Idempotency-Key": "d-1"})
    assert sent.status_code == 201 and len(calls) == 2
    assert [m["kind"] for m in imr.get(f"/v1/cases/{case_id}").json()["messages"]] == ["acknowledgement"]
    assert ledger_size() == 2


def test_a_write_that_keeps_losing_races_answers_503_and_records_nothing(ledger_size, app, settings, imr, omrane, monkeypatch):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    attempts = []

    def always_deadlocked(session, notices):
        attempts.append(1)
        raise _deadlock()

    monkeypatch.setattr(inbox, "deliver", always_deadlocked)
    refused = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"))
    assert refused.status_code == 503 and refused.json()["type"] == "/problems/storage-unavailable"
    assert len(attempts) == settings.write_attempts and "receipt" not in refused.headers
    monkeypatch.undo()
    assert imr.get(f"/v1/cases/{case_id}").json()["messages"] == []
    assert ledger_size() == 1


def test_storage_errors_are_told_apart():
    """Conflicts are retried, unavailability is a 503, anything else stays an internal error."""
    def error(**orig) -> OperationalError:
        return OperationalError("statement", {}, type("DriverError", (Exception,), orig)())

    assert faults.is_conflict(error(sqlstate="40001")) and faults.is_conflict(_deadlock())
    for unavailable in (error(sqlstate="25006"), error(sqlstate="53100"), error(sqlstate="08006"), error(sqlstate="57P01"),
                        error(sqlstate="55P03"), error(sqlite_errorcode=13), error(sqlite_errorcode=8), error(sqlite_errorcode=5),
                        OSError(errno.ENOSPC, "no space left")):
        assert faults.is_unavailable(unavailable), unavailable
    for bug in (error(sqlstate="23505"), error(sqlstate="42P01"), error(sqlite_errorcode=1), OSError(errno.ENOENT, "missing")):
        assert not faults.is_unavailable(bug) and not faults.is_conflict(bug), bug
    assert faults.is_lock_wait(error(sqlstate="55P03")) and faults.is_lock_wait(error(sqlite_errorcode=5))
