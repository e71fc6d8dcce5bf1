"""/healthz and /readyz on the operations listener of a real gateway: each check named, and a
failing one named with its reason, whether recorded by a start-up check or found by the probe."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.runtime import Runtime
from tests.api.test_storage_faults import _postgres_database_setting
from tests.ops.conftest import sample

READY = {"ready": True, "checks": [{"check": "database", "ok": True}, {"check": "migrations", "ok": True}, {"check": "keys", "ok": True}]}


def failing(answer) -> dict[str, str]:
    assert answer.status_code == 503 and answer.json()["ready"] is False
    return {check["check"]: check["reason"] for check in answer.json()["checks"] if not check["ok"]}


def test_alive_and_ready_then_not_ready_while_a_check_fails(ops_gateway):
    ops = ops_gateway.ops
    assert ops.get("/healthz").json() == {"status": "alive"}
    assert ops.get("/readyz").status_code == 200 and ops.get("/readyz").json() == READY
    ops_gateway.runtime.readiness.fail("ledger", "entry 7 does not match its leaf hash")
    assert failing(ops.get("/readyz")) == {"ledger": "entry 7 does not match its leaf hash"}
    assert ops.get("/healthz").status_code == 200  # alive all the same
    ops_gateway.runtime.readiness.clear("ledger")
    assert ops.get("/readyz").json() == READY


def test_a_schema_this_code_does_not_know_is_not_ready(ops_gateway, engine_sql):
    engine_sql("UPDATE alembic_version SET version_num = '9999'")  # as a newer release would have migrated it
    reasons = failing(ops_gateway.ops.get("/readyz"))
    assert list(reasons) == ["migrations"] and "9999" in reasons["migrations"] and "gateway migrate" in reasons["migrations"]


@contextmanager
def unreachable(runtime: Runtime, database_url: str) -> Iterator[None]:
    """PostgreSQL closed to connections; SQLite's file gone from its path (a directory in its place),
    the pooled connections closed."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        with _postgres_database_setting(database_url, "ALLOW_CONNECTIONS false"):
            yield
        return
    path = Path(url.database)
    runtime.database.engine.pool.dispose()
    away = path.rename(path.with_suffix(".away"))
    path.mkdir()
    try:
        yield
    finally:
        shutil.rmtree(path)
        away.rename(path)


def test_an_unreachable_database_is_not_ready_and_metrics_still_answer(ops_gateway, database_url, sdk):
    sdk("imr").me()
    with unreachable(ops_gateway.runtime, database_url):
        reasons = failing(ops_gateway.ops.get("/readyz"))
        assert set(reasons) == {"database", "migrations"} and "\n" not in reasons["database"]
        samples = ops_gateway.scrape()
        assert sample(samples, "gateway_database_up") == 0 and sample(samples, "gateway_ledger_entries") is None
        assert sample(samples, "gateway_http_requests_total", route="/v1/me", method="GET", status="200") == 1
    answers = [ops_gateway.ops.get("/readyz") for _ in range(3)]  # a connection cut under the pool may fail once more
    assert answers[-1].json() == READY
