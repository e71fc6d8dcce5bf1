"""Witnesses: an institution or auditor checks consistency with the last checkpoint it cosigned,
cosigns the new one (C2SP tlog-cosignature), and everyone sees the cosignatures gathered."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from gateway.app import create_app
from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, NoteVerifier, cosign, open_checkpoint, verify_cosignature
from gateway.security.registry import Registry
from tests.conftest import institution_client
from tests.factories import case_payload

WITNESS = "auditor.example/w1"


@pytest.fixture
def witnessed(settings, registry_file, test_pki, tmp_path):
    """The auditor registered as a witness, with its own cosignature key."""
    key = Ed25519PrivateKey.generate()
    vkey = NoteVerifier(WITNESS, key.public_key(), COSIGNATURE_V1).key_string
    registry = Registry.load(registry_file)
    institutions = [i.model_copy(update={"witness_keys": [vkey]}) if i.id == "auditor" else i for i in registry.institutions]
    path = tmp_path / "registry.json"
    Registry(institutions=institutions).write(path)
    app = create_app(settings.model_copy(update={"registry_file": path}))
    with TestClient(app):
        yield {name: institution_client(app, test_pki, name) for name in ("imr", "auditor", "al-omrane")}, key, vkey


def line(note: str, key: Ed25519PrivateKey) -> str:
    return cosign(note, WITNESS, key).line()


def test_a_witness_checks_consistency_then_cosigns(witnessed):
    clients, key, vkey = witnessed
    imr, auditor = clients["imr"], clients["auditor"]
    log = NoteVerifier.from_key_string(auditor.get("/v1/ledger/key").json()["note_key"])
    witness = NoteVerifier.from_key_string(vkey)
    last = None
    for round_ in range(3):
        for _ in range(round_ + 2):
            imr.post("/v1/cases", json=case_payload())
        note = auditor.get("/v1/ledger/checkpoint").json()["note"]
        current = open_checkpoint(note, log)
        if last is not None:  # what a witness must do before it cosigns
            proof = auditor.get("/v1/ledger/proof/consistency", params={"first": last.size, "second": current.size}).json()["proof"]
            merkle.verify_consistency(last.size, current.size, [base64.b64decode(p) for p in proof], last.root_hash, current.root_hash)
        response = auditor.post("/v1/ledger/cosignatures", json={"size": current.size, "cosignature": line(note, key)})
        assert response.status_code == 201, response.text
        assert verify_cosignature(response.json()["note"], witness)
        last = current
    gathered = imr.get("/v1/ledger/checkpoint", params={"size": last.size}).json()["note"]
    assert verify_cosignature(gathered, witness) and open_checkpoint(gathered, log) == last


def test_cosigning_again_changes_nothing(witnessed):
    clients, key, _ = witnessed
    clients["imr"].post("/v1/cases", json=case_payload())
    note = clients["auditor"].get("/v1/ledger/checkpoint").json()["note"]
    submitted = line(note, key)
    first = clients["auditor"].post("/v1/ledger/cosignatures", json={"size": 2, "cosignature": submitted}).json()
    again = clients["auditor"].post("/v1/ledger/cosignatures", json={"size": 2, "cosignature": submitted}).json()
    assert first == again and first["note"].count(WITNESS) == 1


def test_only_registered_witness_keys_and_valid_cosignatures_are_kept(witnessed):
    clients, key, _ = witnessed
    clients["imr"].post("/v1/cases", json=case_payload())
    note = clients["auditor"].get("/v1/ledger/checkpoint").json()["note"]
    stranger = cosign(note, WITNESS, Ed25519PrivateKey.generate()).line()
    assert clients["auditor"].post("/v1/ledger/cosignatures", json={"size": 2, "cosignature": stranger}).status_code == 403
    assert clients["imr"].post("/v1/ledger/cosignatures", json={"size": 2, "cosignature": line(note, key)}).status_code == 403
    other_note = note.replace("\n2\n", "\n3\n")  # a cosignature over another body
    forged = cosign(other_note, WITNESS, key).line()
    assert clients["auditor"].post("/v1/ledger/cosignatures", json={"size": 2, "cosignature": forged}).status_code == 422
    assert clients["auditor"].post("/v1/ledger/cosignatures", json={"size": 99, "cosignature": line(note, key)}).status_code == 404
    assert WITNESS not in clients["auditor"].get("/v1/ledger/checkpoint").json()["note"]


def test_the_export_carries_cosignatures_for_the_offline_verifier(witnessed, tmp_path, capsys):
    from gateway.cli import main

    clients, key, vkey = witnessed
    for _ in range(3):
        clients["imr"].post("/v1/cases", json=case_payload())
    note = clients["auditor"].get("/v1/ledger/checkpoint").json()["note"]
    clients["auditor"].post("/v1/ledger/cosignatures", json={"size": 4, "cosignature": line(note, key)})
    export = tmp_path / "ledger.jsonl"
    export.write_text(clients["auditor"].get("/v1/ledger/export").text, encoding="utf-8")
    log_key = clients["auditor"].get("/v1/ledger/key").json()["note_key"]
    assert main(["ledger", "verify", str(export), "--key", log_key, "--witness", vkey]) == 0
    assert f"1 cosignatures by {WITNESS}" in capsys.readouterr().out
