"""Backup and restore on both engines, and the restore guard: a backup restored after later
checkpoints were published refuses writes (not ready, 503 writes-suspended) until a later backup
is restored; then the gateway is ready, writes work and the export verifies offline. A backup
taken while writes run is consistent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway import samples
from gateway.app import create_app
from gateway.cli import main
from gateway.ledger.integrity import check
from gateway.runtime import Runtime
from tests.api.test_documents import upload
from tests.conftest import institution_client
from tests.factories import case_payload, message

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")  # where scripts/postgres finds PostgreSQL too


@pytest.fixture
def ops_env(cli_env, settings):
    if not settings.is_sqlite:
        cli_env.setenv("GATEWAY_POSTGRES_BIN_DIR", str(POSTGRES_BIN))
    return cli_env


@contextmanager
def serving(settings, test_pki) -> Iterator[tuple[object, TestClient, TestClient]]:
    """A gateway process started on `settings`: (app, IMR's client, Al Omrane's client)."""
    application = create_app(settings)
    with TestClient(application):
        yield application, institution_client(application, test_pki, "imr"), institution_client(application, test_pki, "al-omrane")


def open_cases(imr, omrane, count: int) -> None:
    for _ in range(count):
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        assert omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement")).status_code == 201


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_an_old_backup_trips_the_guard_and_the_later_one_clears_it(ops_env, settings, test_pki, tmp_path, capsys):
    older, later = tmp_path / "backup-1", tmp_path / "backup-2"
    with serving(settings, test_pki) as (application, imr, omrane):
        open_cases(imr, omrane, 2)
        case_id = imr.get("/v1/cases").json()["items"][0]["id"]
        document = upload(imr, case_id, samples.pdf(["pièce"]), filename="piece.pdf").json()
        code, out, _ = run(capsys, "backup", str(older))  # online, while this process serves
        assert code == 0 and "ledger size 6" in out and "1 blob(s)" in out  # the start-up's registry_changed entry, 2 cases, 2 replies, 1 document
        open_cases(imr, omrane, 2)
        assert run(capsys, "backup", str(later))[0] == 0
    manifest = json.loads((older / "manifest.json").read_text())
    assert manifest["ledger"]["size"] == 6 and manifest["ledger"]["checkpoint"].split("\n")[1] == "6"
    assert manifest["engine"] == ("sqlite" if settings.is_sqlite else "postgresql") and manifest["migration_revision"]
    assert "not in this backup" in manifest["master_key"] and not any("key" in f["path"] for f in manifest["files"])
    record = settings.published_checkpoints_path.read_bytes()

    code, _, err = run(capsys, "restore", str(older))
    assert code == 1 and "already holds a ledger of 10 entries" in err and "--force" in err
    code, out, err = run(capsys, "restore", str(older), "--force")
    assert code == 0 and "ledger size 6" in out, err
    assert "restore guard: the database's ledger has 6 entries, behind the checkpoint of size 10 this gateway published" in err
    with serving(settings, test_pki) as (application, imr, _):
        readiness = application.state.runtime.readiness
        assert not readiness.ready and readiness.write_refusal().check == "restore-guard"
        refused = imr.post("/v1/cases", json=case_payload())
        assert refused.status_code == 503 and refused.json()["check"] == "restore-guard"
        streamed = upload(imr, case_id, samples.pdf(["autre pièce"]), filename="autre.pdf")
        assert streamed.status_code == 503 and streamed.json()["check"] == "restore-guard"
        assert len(list(settings.open_blob_store().published())) == 1  # nothing was stored for it
        assert imr.get(document["content"]).status_code == 200  # reads, of documents too, go on
    assert run(capsys, "reminders", "run")[0] == 1  # nor does the gateway append on its own

    code, out, err = run(capsys, "restore", str(later), "--force")
    assert code == 0 and "ledger size 10" in out and err == ""
    assert settings.published_checkpoints_path.read_bytes() == record  # never restored, never rewritten
    with serving(settings, test_pki) as (application, imr, omrane):
        assert application.state.runtime.readiness.ready
        open_cases(imr, omrane, 1)
        assert imr.get(document["content"]).status_code == 200
    code, key, _ = run(capsys, "ledger", "key")
    assert run(capsys, "ledger", "export", str(tmp_path / "ledger.jsonl"))[0] == 0
    code, out, _ = run(capsys, "ledger", "verify", str(tmp_path / "ledger.jsonl"), "--key", key)
    assert code == 0 and out.startswith("OK: 12 entries and 12 checkpoints verified")


def test_a_damaged_backup_is_not_restored(ops_env, settings, test_pki, tmp_path, capsys):
    backup = tmp_path / "backup"
    with serving(settings, test_pki) as (_, imr, omrane):
        open_cases(imr, omrane, 1)
        assert run(capsys, "backup", str(backup))[0] == 0
    code, _, err = run(capsys, "backup", str(backup))
    assert code == 1 and "is not empty" in err
    manifest = json.loads((backup / "manifest.json").read_text())
    damaged = backup / manifest["database_file"]
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"?")
    code, _, err = run(capsys, "restore", str(backup), "--force")
    assert code == 1 and f"{manifest['database_file']} does not have the SHA-256 the manifest states" in err


def test_a_backup_taken_while_writes_run_is_consistent(ops_env, settings, test_pki, template, tmp_path, capsys):
    backup, writing, stop = tmp_path / "backup", threading.Event(), threading.Event()
    with serving(settings, test_pki) as (_, imr, omrane):
        open_cases(imr, omrane, 1)

        def keep_writing() -> None:
            while not stop.is_set():
                open_cases(imr, omrane, 1)
                writing.set()

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            assert writing.wait(30), "the writer wrote nothing"
            assert run(capsys, "backup", str(backup))[0] == 0
        finally:
            stop.set()
            writer.join()
        written = Runtime(settings)
        try:
            with written.database.session(write=False) as session:
                total = written.ledger.size(session)
        finally:
            written.close()
    size = json.loads((backup / "manifest.json").read_text())["ledger"]["size"]
    elsewhere = settings.model_copy(update={"database_url": template.clone(tmp_path), "blob_dir": tmp_path / "elsewhere" / "blobs"})
    ops_env.setenv("GATEWAY_DATABASE_URL", elsewhere.database_url)
    ops_env.setenv("GATEWAY_BLOB_DIR", str(elsewhere.blob_dir))
    assert run(capsys, "restore", str(backup))[0] == 0  # a migrated database without a ledger is empty
    restored = Runtime(elsewhere)
    try:
        assert check(restored.database, restored.ledger.signer.verifier).size == size
    finally:
        restored.close()
    assert 4 <= size <= total
    template.drop(elsewhere.database_url)


def test_a_forked_history_trips_the_guard(ops_env, settings, test_pki, tmp_path, capsys):
    """Written on an old backup with the record out of the way, the ledger grows past the published
    size but differs there: a fork, caught once the record is back."""
    backup, record = tmp_path / "backup", settings.published_checkpoints_path
    with serving(settings, test_pki) as (_, imr, omrane):
        open_cases(imr, omrane, 1)
        assert run(capsys, "backup", str(backup))[0] == 0
        open_cases(imr, omrane, 2)
        assert run(capsys, "ledger", "export", str(tmp_path / "published.jsonl"))[0] == 0
    assert run(capsys, "restore", str(backup), "--force")[0] == 0
    record.rename(tmp_path / "record-aside")
    with serving(settings, test_pki) as (application, imr, omrane):
        assert application.state.runtime.readiness.ready
        open_cases(imr, omrane, 3)
    (tmp_path / "record-aside").rename(record)
    with serving(settings, test_pki) as (application, _, _):
        assert application.state.runtime.readiness.write_refusal().reason == (
            "restore guard: the database's ledger (size 9) differs at size 7 from the checkpoint of that size this gateway "
            "published: a forked history; writes are refused (see README, The restore guard and recovery)")
    code, _, err = run(capsys, "ledger", "reimport", str(tmp_path / "published.jsonl"))
    assert code == 1 and "the database's ledger (size 9) is not a prefix of the export: it forked" in err


def test_the_missing_entries_are_reimported_from_an_auditors_export(ops_env, settings, test_pki, tmp_path, capsys):
    backup, early, late = tmp_path / "backup", tmp_path / "early.jsonl", tmp_path / "late.jsonl"
    with serving(settings, test_pki) as (_, imr, omrane):
        open_cases(imr, omrane, 2)
        assert run(capsys, "backup", str(backup))[0] == 0
        assert run(capsys, "ledger", "export", str(early))[0] == 0
        open_cases(imr, omrane, 2)
        assert run(capsys, "ledger", "export", str(late))[0] == 0  # what an auditor downloaded
    assert run(capsys, "restore", str(backup), "--force")[0] == 0
    code, _, err = run(capsys, "ledger", "reimport", str(early))
    assert code == 1 and "the export stops at size 5, before the checkpoint of size 9 seen earlier" in err
    code, out, err = run(capsys, "ledger", "reimport", str(late))
    assert (code, err) == (0, "") and out == f"re-imported ledger entries 5 to 8 from {late}; recorded in {settings.published_checkpoints_path}"
    assert '"reimported":{"from":5,"to":9,' in settings.published_checkpoints_path.read_text().splitlines()[-1]
    with serving(settings, test_pki) as (application, imr, omrane):
        assert application.state.runtime.readiness.ready
        open_cases(imr, omrane, 1)
    assert run(capsys, "ledger", "check")[1] == "OK: ledger entries 0 to 10 match their leaves, nodes and checkpoints; tree size 11"
    key = run(capsys, "ledger", "key")[1]
    assert run(capsys, "ledger", "export", str(tmp_path / "after.jsonl"))[0] == 0
    assert run(capsys, "ledger", "verify", str(tmp_path / "after.jsonl"), "--key", key)[1].startswith("OK: 11 entries")
