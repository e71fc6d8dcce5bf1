"""`gateway ledger verify`: an auditor's own check of an export, with nothing but trusted keys.
Every kind of tampering, made in the export or directly in the database (bypassing the triggers
as a superuser would), is caught and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.cli import main
from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, NoteVerifier, add_signature, cosign
from tests.factories import SHORT_LIFE, case_payload, message


@pytest.fixture
def history(imr, omrane, client_for):
    """Two complaints worked through, then the export as an auditor downloads it."""
    clients = {"imr": imr, "al-omrane": omrane}
    for _ in range(2):
        case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
        for sender, kind, extra in SHORT_LIFE:
            clients[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra))
    auditor = client_for("auditor")
    response = auditor.get("/v1/ledger/export")
    assert response.headers["content-type"].startswith("application/jsonl")
    key = auditor.get("/v1/ledger/key").json()["note_key"]
    return response.text.splitlines(keepends=True), key, auditor


def verify(tmp_path: Path, lines: list[str], key: str, *extra: str, capsys) -> tuple[int, str]:
    export = tmp_path / "ledger.jsonl"
    export.write_text("".join(lines), encoding="utf-8")
    code = main(["ledger", "verify", str(export), "--key", key, *extra])
    return code, capsys.readouterr().out.strip()


def records(lines):
    return [json.loads(line) for line in lines]


def dump(recs) -> list[str]:
    return [json.dumps(r, ensure_ascii=False) + "\n" for r in recs]


def test_an_untouched_export_verifies(history, tmp_path, capsys):
    lines, key, _ = history
    code, out = verify(tmp_path, lines, key, capsys=capsys)
    assert code == 0 and out.startswith("OK: 13 entries and 13 checkpoints verified") and "\n" not in out


def test_the_cli_export_from_the_database_is_the_same(history, settings, tmp_path, monkeypatch, capsys):
    lines, key, _ = history
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_PKI_DIR", str(settings.pki_dir))
    assert main(["ledger", "export", str(tmp_path / "cli.jsonl")]) == 0
    assert (tmp_path / "cli.jsonl").read_text(encoding="utf-8") == "".join(lines)
    capsys.readouterr()
    assert main(["ledger", "key"]) == 0 and capsys.readouterr().out.strip() == key


def test_a_changed_entry_is_caught(history, tmp_path, capsys):
    lines, key, _ = history
    recs = records(lines)
    entry = next(r for r in recs if r.get("index") == 4)
    entry["entry"]["detail"] = "closure"
    code, out = verify(tmp_path, dump(recs), key, capsys=capsys)
    assert code == 1 and out.startswith("FAILED: entry 4 ")


def test_a_deleted_entry_is_caught(history, tmp_path, capsys):
    lines, key, _ = history
    recs = [r for r in records(lines) if not (r.get("type") == "entry" and r["index"] == 6)]
    code, out = verify(tmp_path, dump(recs), key, capsys=capsys)
    assert code == 1 and "entry 6 is missing" in out


def test_a_reordered_pair_is_caught(history, tmp_path, capsys):
    lines, key, _ = history
    recs = records(lines)
    entries = [i for i, r in enumerate(recs) if r.get("type") == "entry"]
    first, second = entries[2], entries[3]
    recs[first]["entry"], recs[second]["entry"] = recs[second]["entry"], recs[first]["entry"]  # renumbered to look in order
    recs[first]["entry"]["seq"], recs[second]["entry"]["seq"] = 3, 4
    code, out = verify(tmp_path, dump(recs), key, capsys=capsys)
    assert code == 1 and out.startswith("FAILED: entry 2 ")


def test_a_truncated_log_is_caught_against_a_checkpoint_seen_earlier(history, tmp_path, capsys):
    lines, key, auditor = history
    saved = tmp_path / "seen.note"
    saved.write_text(auditor.get("/v1/ledger/checkpoint").json()["note"], encoding="utf-8")
    recs = records(lines)
    cut = next(i for i, r in enumerate(recs) if r.get("type") == "entry" and r["index"] == 9)
    code, out = verify(tmp_path, dump(recs[:cut]), key, "--since", str(saved), capsys=capsys)
    assert code == 1 and "truncated" in out
    assert verify(tmp_path, lines, key, "--since", str(saved), capsys=capsys)[0] == 0


def test_a_forged_checkpoint_is_caught(history, tmp_path, capsys):
    lines, key, _ = history
    recs = records(lines)
    last = next(r for r in reversed(recs) if r.get("type") == "checkpoint")
    body, _, signatures = last["note"].partition("\n\n")
    origin, size, root = body.split("\n")[:3]
    last["note"] = f"{origin}\n{size}\n{'A' * 43}=\n\n{signatures}"
    code, out = verify(tmp_path, dump(recs), key, capsys=capsys)
    assert code == 1 and out.startswith(f"FAILED: checkpoint {size}")
    other_key = NoteVerifier(origin, Ed25519PrivateKey.generate().public_key()).key_string
    assert verify(tmp_path, lines, other_key, capsys=capsys)[0] == 1  # only the trusted key counts


def test_a_forked_history_is_caught(history, settings, template, tmp_path, capsys, test_pki):
    """Another history signed with the same key (an operator who rewrote the log from scratch)."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from tests.conftest import institution_client

    lines, key, auditor = history
    seen = tmp_path / "seen.note"
    seen.write_text(auditor.get("/v1/ledger/checkpoint", params={"size": 5}).json()["note"], encoding="utf-8")
    # Another gateway with the same keys: its own blobs and record of published checkpoints.
    forked_app = create_app(settings.model_copy(update={"database_url": template.clone(tmp_path), "blob_dir": tmp_path / "fork" / "blobs"}))
    with TestClient(forked_app):
        for _ in range(7):
            institution_client(forked_app, test_pki, "imr").post("/v1/cases", json=case_payload())
        forked = institution_client(forked_app, test_pki, "auditor").get("/v1/ledger/export").text.splitlines(keepends=True)
    assert verify(tmp_path, forked, key, capsys=capsys)[0] == 0  # consistent with itself...
    code, out = verify(tmp_path, forked, key, "--since", str(seen), capsys=capsys)
    assert code == 1 and "forked or rewritten" in out  # ...but not with what was seen


def test_a_change_made_in_the_database_by_a_superuser_is_caught(history, engine_sql, database_url, tmp_path, capsys):
    lines, key, auditor = history
    if database_url.startswith("sqlite"):
        engine_sql("DROP TRIGGER ledger_entries_no_update")
    else:
        engine_sql("ALTER TABLE ledger_entries DISABLE TRIGGER USER")
    engine_sql("UPDATE ledger_entries SET recipient_id = 'ac-casa' WHERE seq = 8")
    tampered = auditor.get("/v1/ledger/export").text.splitlines(keepends=True)
    code, out = verify(tmp_path, tampered, key, capsys=capsys)
    assert code == 1 and out.startswith("FAILED: entry 7 ")


def test_witness_cosignatures_are_checked(history, tmp_path, capsys):
    lines, key, _ = history
    witness_key = Ed25519PrivateKey.generate()
    witness = NoteVerifier("auditor.example/w1", witness_key.public_key(), COSIGNATURE_V1).key_string
    recs = records(lines)
    last = next(r for r in reversed(recs) if r.get("type") == "checkpoint")
    last["note"] = add_signature(last["note"], cosign(last["note"], "auditor.example/w1", witness_key))
    code, out = verify(tmp_path, dump(recs), key, "--witness", witness, capsys=capsys)
    assert code == 0 and "1 cosignatures by auditor.example/w1" in out
    line = last["note"].rstrip("\n").rsplit("\n", 1)[1]
    last["note"] = last["note"].replace(line, line[:-6] + ("AAAA==" if not line.endswith("AAAA==") else "BBBB=="))
    code, out = verify(tmp_path, dump(recs), key, "--witness", witness, capsys=capsys)
    assert code == 1 and "cosignature" in out
