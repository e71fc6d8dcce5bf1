"""Documents at rest: their bytes and names are sealed with the case's key; a changed or moved
ciphertext, or the wrong master key, fails closed; erasure leaves nothing to recover."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from gateway import samples
from gateway.app import create_app
from gateway.security.encryption import DecryptionFailed, MasterKey
from gateway.security.streaming import HEADER_BYTES
from tests.api.test_documents import stored_blobs, upload
from tests.conftest import institution_client
from tests.factories import case_payload
from tests.privacy.test_sealed_at_rest import everything_stored, personal_values


@pytest.fixture
def attached(imr):
    """A case whose document names the complainant and carries her CIN in its bytes."""
    payload = case_payload()
    case_id = imr.post("/v1/cases", json=payload).json()["id"]
    complainant = payload["complainant"]
    data = samples.pdf([f"CIN {complainant['cin']}", f"Tel {complainant['phone']}"], padding=150_000)
    document = upload(imr, case_id, data, filename=f"{complainant['full_name']} – {complainant['cin']}.pdf").json()
    return payload, case_id, document, data


def test_names_and_bytes_are_unreadable_in_the_database_and_the_blob_store(attached, engine_sql, settings):
    payload, _, document, data = attached
    stored = everything_stored(engine_sql) + b"".join(path.read_bytes() for path in stored_blobs(settings))
    assert b'"dig":"sha-256=' in stored  # the signatures' payloads were decoded and scanned too
    for value in [*personal_values(payload), document["filename"], document["disposition"]]:
        assert value.encode() not in stored, value
    assert data[:200] not in stored


def test_a_changed_blob_is_never_served(imr, attached, settings):
    _, _, document, _ = attached
    [blob] = stored_blobs(settings)
    sealed = bytearray(blob.read_bytes())
    sealed[HEADER_BYTES + 70_000] ^= 1  # in the second segment
    blob.write_bytes(bytes(sealed))
    with pytest.raises(DecryptionFailed):  # the stream stops before the changed segment is sent
        imr.get(document["content"])
    ranged = TestClient(imr.app, raise_server_exceptions=False, headers=imr.headers)
    response = ranged.get(document["content"], headers={"Range": "bytes=65536-70000"})
    assert response.status_code == 500 and response.headers["content-type"] == "application/problem+json"
    assert imr.get(document["content"], headers={"Range": "bytes=0-999"}).status_code == 206  # the first segment is intact


def test_a_blob_moved_onto_another_document_does_not_open(imr, attached, settings):
    _, case_id, document, data = attached
    other = upload(imr, case_id, data, filename="copie.pdf").json()
    blobs = {path.name: path for path in stored_blobs(settings)}
    shutil.copyfile(blobs[document["id"]], blobs[other["id"]])  # same case, same key, same size
    with pytest.raises(DecryptionFailed):
        imr.get(other["content"])


def test_the_wrong_master_key_fails_closed(attached, settings, test_pki):
    _, case_id, document, _ = attached
    wrong = settings.model_copy(update={"master_key": SecretStr(MasterKey.generate_text())})
    application = create_app(wrong)
    with TestClient(application):
        client = institution_client(application, test_pki, "imr")
        client = TestClient(client.app, raise_server_exceptions=False, headers=client.headers)
        for url in (f"/v1/cases/{case_id}/documents", document["content"]):
            response = client.get(url)
            assert response.status_code == 500 and response.json()["type"] == "/problems/internal-error"
            assert "CIN" not in response.text


def test_a_missing_or_cut_blob_answers_a_problem_before_any_byte(imr, attached, settings):
    _, _, document, _ = attached
    [blob] = stored_blobs(settings)
    client = TestClient(imr.app, raise_server_exceptions=False, headers=imr.headers)
    blob.write_bytes(blob.read_bytes()[:-1])  # cut short: refused from its length, before streaming
    cut = client.get(document["content"])
    assert cut.status_code == 500 and cut.json()["type"] == "/problems/internal-error"
    blob.unlink()
    missing = client.get(document["content"])
    assert missing.status_code == 500 and missing.json()["type"] == "/problems/internal-error"
