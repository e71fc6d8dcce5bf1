"""The ledger self-check at start-up and `gateway ledger check`: an entry or a node changed in the
database (by a superuser who bypassed the append-only triggers) is named, the gateway stays not
ready and refuses writes with 503 writes-suspended, and reads go on."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.cli import main
from gateway.runtime import Runtime
from tests.conftest import institution_client
from tests.factories import case_payload, message


def bypass_triggers(engine_sql, database_url: str, table: str) -> None:
    """As a superuser would: the append-only triggers stop nothing any more."""
    if database_url.startswith("sqlite"):
        engine_sql(f"DROP TRIGGER {table}_no_update")
    else:
        engine_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


@pytest.fixture
def ledger_of_13(imr, omrane):
    """The start-up's registry_changed entry, then four cases opened and each answered twice: thirteen entries."""
    for _ in range(4):
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        for kind in ("acknowledgement", "information_request"):
            assert omrane.post(f"/v1/cases/{case_id}/messages", json=message(kind)).status_code == 201


def failures_at_start(settings) -> dict[str, str]:
    runtime = Runtime(settings)
    try:
        runtime.check_ledger()
        return {failure.check: failure.reason for failure in runtime.readiness.failures()}
    finally:
        runtime.close()


def ledger_check(capsys) -> tuple[int, str]:
    code = main(["ledger", "check"])
    return code, capsys.readouterr().out.strip()


def test_a_good_ledger_passes_at_start_and_in_full(ledger_of_13, settings, cli_env, capsys):
    assert failures_at_start(settings) == {}
    assert ledger_check(capsys) == (0, "OK: ledger entries 0 to 12 match their leaves, nodes and checkpoints; tree size 13")


def test_a_changed_entry_is_named_and_writes_are_refused(ledger_of_13, settings, cli_env, capsys, engine_sql, database_url,
                                                          test_pki, caplog):
    bypass_triggers(engine_sql, database_url, "ledger_entries")
    engine_sql("UPDATE ledger_entries SET detail = 'final_reply' WHERE seq = 8")
    expected = "ledger entry 7 was changed: it no longer hashes to its stored leaf hash"
    assert failures_at_start(settings) == {"ledger": f"ledger self-check failed: {expected}"}
    assert ledger_check(capsys) == (1, f"FAILED: {expected}")

    caplog.clear()
    application = create_app(settings)
    with caplog.at_level("ERROR", logger="gateway.runtime"), TestClient(application):
        imr = institution_client(application, test_pki, "imr")
        refused = imr.post("/v1/cases", json=case_payload(), headers={"Accept-Language": "en"})
        assert refused.status_code == 503 and refused.headers["Retry-After"] == str(settings.writes_suspended_retry_after_seconds)
        problem = refused.json()
        assert problem["type"].endswith("/writes-suspended") and problem["check"] == "ledger"
        assert problem["title"] == "Writes suspended on this gateway: nothing was recorded"
        assert imr.get("/v1/cases").status_code == 200  # reads go on
        assert application.state.runtime.readiness.ready is False
    assert [record.getMessage() for record in caplog.records] == [f"ledger self-check failed: {expected}"]
    assert engine_sql("SELECT count(*) FROM ledger_entries").scalar() == 13  # the refusal touched nothing


def test_a_changed_leaf_node_and_interior_node_are_named(ledger_of_13, settings, cli_env, capsys, engine_sql, database_url):
    bypass_triggers(engine_sql, database_url, "ledger_nodes")
    engine_sql("UPDATE ledger_nodes SET hash = :forged WHERE level = 1 AND idx = 2", forged=b"\x00" * 32)
    assert ledger_check(capsys) == (1, "FAILED: ledger node (level 1, index 2) over entries 4 to 5 differs from the hash of its entries")
    engine_sql("UPDATE ledger_nodes SET hash = :forged WHERE level = 0 AND idx = 3", forged=b"\x00" * 32)
    reason = failures_at_start(settings)["ledger"]
    assert reason == "ledger self-check failed: ledger entry 3: its leaf node differs from the hash of its entries"


def test_the_start_up_check_covers_the_latest_entries_only(ledger_of_13, settings, engine_sql, database_url, cli_env, capsys):
    bypass_triggers(engine_sql, database_url, "ledger_entries")
    engine_sql("UPDATE ledger_entries SET detail = 'final_reply' WHERE seq = 2")
    assert failures_at_start(settings.model_copy(update={"ledger_self_check_entries": 11})) == {}
    assert "ledger entry 1 " in failures_at_start(settings.model_copy(update={"ledger_self_check_entries": 12}))["ledger"]
    assert ledger_check(capsys)[0] == 1
