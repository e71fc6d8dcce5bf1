"""The ledger under the exchange: one entry per accepted write, proved in its receipt; nothing for
a refused or aborted write; no gaps under concurrency; tampering refused by the database."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from jose import jws

from gateway.app import create_app
from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier, open_checkpoint
from imr_alomrane_gateway_client.ledger.entry import Entry
from imr_alomrane_gateway_client.signing import content_digest
from tests.conftest import POSTGRES_URL, apply_runtime_role, institution_client
from tests.factories import SHORT_LIFE, case_payload, message



def receipt_ledger(response) -> dict:
    import json

    return json.loads(jws.get_unverified_claims(response.headers["receipt"]))["ledger"]


def test_every_accepted_write_is_an_entry_proved_in_its_receipt(imr, omrane):
    log = NoteVerifier.from_key_string(imr.get("/v1/ledger/key").json()["note_key"])
    case = imr.post("/v1/cases", json=case_payload())
    responses = [case]
    clients = {"imr": imr, "al-omrane": omrane}
    responses += [clients[s].post(f"/v1/cases/{case.json()['id']}/messages", json=message(k, **x)) for s, k, x in SHORT_LIFE]
    for position, response in enumerate(responses, 1):  # after the start-up's registry_changed entry
        proof = receipt_ledger(response)
        assert proof["index"] == position
        checkpoint = open_checkpoint(proof["checkpoint"], log)
        assert checkpoint.size == position + 1
        assert proof["entry"]["payload_digest"] == content_digest(response.request.content)
        merkle.verify_inclusion(Entry.from_dict(proof["entry"]).leaf_hash(), position, checkpoint.size,
                                [base64.b64decode(p) for p in proof["inclusion"]], checkpoint.root_hash)
    entries = imr.get("/v1/ledger/entries").json()
    assert [e["entry"]["kind"] for e in entries] == ["case_opened"] + ["message_sent"] * len(SHORT_LIFE)
    assert [e["entry"]["detail"] for e in entries] == ["delivery_delays"] + [kind for _, kind, _ in SHORT_LIFE]
    for entry in entries:
        assert Entry.from_dict(entry["entry"]).leaf_hash().hex() == entry["leaf_hash"]


def test_refused_writes_leave_no_entry(ledger_size, imr, omrane, client_for):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    before = ledger_size()
    assert omrane.post(f"/v1/cases/{case_id}/messages", json=message("final_reply", outcome="favourable")).status_code == 409
    assert client_for("imr", sign=False).post("/v1/cases", json=case_payload()).status_code == 401
    assert imr.post("/v1/cases", json=case_payload(respondent_id="nobody")).status_code == 422
    assert ledger_size() == before


def test_an_aborted_exchange_leaves_no_entry_and_no_hole(ledger_size, app, imr, engine_sql, monkeypatch):
    from gateway.services import receipts

    imr.post("/v1/cases", json=case_payload())
    real_issue = receipts.issue

    def fail_after_the_ledger_append(*args, **kwargs):
        raise RuntimeError("disk full, say")

    monkeypatch.setattr(receipts, "issue", fail_after_the_ledger_append)
    crashed = TestClient(imr.app, raise_server_exceptions=False)
    crashed.auth = imr.auth
    assert crashed.post("/v1/cases", json=case_payload()).status_code == 500
    assert ledger_size() == 1
    monkeypatch.setattr(receipts, "issue", real_issue)
    assert receipt_ledger(imr.post("/v1/cases", json=case_payload()))["index"] == 2  # after the registry's and the first case's
    assert [row[0] for row in engine_sql("SELECT seq FROM ledger_entries ORDER BY seq")] == [1, 2, 3]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET kind = 'case_closed'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_nodes SET hash = hash",
        "DELETE FROM ledger_nodes",
        "UPDATE ledger_checkpoints SET note = 'forged'",
        "DELETE FROM ledger_checkpoints",
    ],
)
def test_the_database_refuses_to_change_or_remove_ledger_rows(ledger_size, imr, engine_sql, statement):
    imr.post("/v1/cases", json=case_payload())
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        engine_sql(statement)
    assert ledger_size() == 1


def test_concurrent_writers_leave_a_gap_free_verifiable_log(settings, test_pki, engine_sql):
    apps = [create_app(settings) for _ in range(2)]
    with TestClient(apps[0]), TestClient(apps[1]):
        clients = [institution_client(app, test_pki, "imr") for app in apps]
        with ThreadPoolExecutor(6) as pool:
            assert all(r.status_code == 201 for r in pool.map(lambda i: clients[i % 2].post("/v1/cases", json=case_payload()), range(30)))
        auditor = institution_client(apps[0], test_pki, "auditor")  # every entry, the start-up's registry_changed one too
        entries = auditor.get("/v1/ledger/entries").json()
        checkpoints = [auditor.get("/v1/ledger/checkpoint", params={"size": size}).json() for size in (1, 7, 19, 31)]
    assert [e["index"] for e in entries] == list(range(31))
    rebuilt = merkle.MemoryTree()
    for entry in entries:
        rebuilt.append_leaf_hash(Entry.from_dict(entry["entry"]).leaf_hash())
    log = NoteVerifier(apps[0].state.runtime.ledger.signer.name, apps[0].state.runtime.ledger.signer.key.public_key)
    for checkpoint in checkpoints:
        opened = open_checkpoint(checkpoint["note"], log)
        assert opened.root_hash == rebuilt.root(opened.size)


def test_consistency_and_inclusion_proofs_from_the_api(imr, client_for):
    for _ in range(11):
        imr.post("/v1/cases", json=case_payload())
    auditor = client_for("auditor")
    log = NoteVerifier.from_key_string(auditor.get("/v1/ledger/key").json()["note_key"])
    old = open_checkpoint(auditor.get("/v1/ledger/checkpoint", params={"size": 5}).json()["note"], log)
    new = open_checkpoint(auditor.get("/v1/ledger/checkpoint").json()["note"], log)
    proof = auditor.get("/v1/ledger/proof/consistency", params={"first": old.size, "second": new.size}).json()["proof"]
    merkle.verify_consistency(old.size, new.size, [base64.b64decode(p) for p in proof], old.root_hash, new.root_hash)
    entry = auditor.get("/v1/ledger/entries", params={"start": 3, "end": 4}).json()[0]
    by_hash = auditor.get("/v1/ledger/proof/inclusion", params={"leaf_hash": entry["leaf_hash"], "size": new.size}).json()
    by_index = auditor.get("/v1/ledger/proof/inclusion", params={"index": 3, "size": new.size}).json()
    assert by_hash == by_index and by_hash["index"] == 3
    merkle.verify_inclusion(bytes.fromhex(entry["leaf_hash"]), 3, new.size, [base64.b64decode(p) for p in by_hash["proof"]], new.root_hash)
    assert auditor.get("/v1/ledger/proof/consistency", params={"first": 3, "second": 999}).status_code == 404
    assert auditor.get("/v1/ledger/proof/inclusion", params={"size": 3}).status_code == 422


def test_institutions_read_only_their_own_entries_and_nobody_reads_personal_data(imr, client_for, engine_sql):
    payload = case_payload()
    imr.post("/v1/cases", json=payload)
    imr.post("/v1/cases", json=case_payload(respondent_id="ac-casa"))
    assert len(client_for("auditor").get("/v1/ledger/entries").json()) == 3  # and the start-up's registry_changed
    assert [e["entry"]["recipient"] for e in client_for("al-omrane").get("/v1/ledger/entries").json()] == ["al-omrane"]
    dump = " ".join(str(value) for row in engine_sql("SELECT * FROM ledger_entries") for value in row)
    dump += " ".join(row[0] for row in engine_sql("SELECT note FROM ledger_checkpoints"))
    complainant = payload["complainant"]
    for personal in (complainant["full_name"], complainant["cin"], complainant["phone"], complainant["email"], complainant["address"], payload["title"]):
        assert personal not in dump


@pytest.mark.skipif(not POSTGRES_URL, reason="needs the PostgreSQL test cluster (scripts/test starts it; always in CI)")
@pytest.mark.parametrize("template", ["postgresql"], indirect=True)
def test_on_postgresql_the_gateway_role_may_only_insert_and_read_the_ledger(template, database_url, imr):
    runtime_url = apply_runtime_role(database_url)
    imr.post("/v1/cases", json=case_payload())
    engine = sa.create_engine(runtime_url)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM ledger_entries").scalar() == 2  # the registry's, the case's
    for statement in ("UPDATE ledger_entries SET kind = 'x'", "DELETE FROM ledger_entries", "TRUNCATE ledger_entries",
                      "UPDATE registry_versions SET document = ''", "DELETE FROM registry_versions",
                      "DELETE FROM ledger_cosignatures", "UPDATE ledger_checkpoints SET note = ''"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    engine.dispose()
