"""Documents on thematic files: the same streamed, encrypted store as for cases, sealed with the
file's own key, seen by whoever sees the file; a case's documents are untouched by it."""

from __future__ import annotations

import pytest

from gateway import samples
from imr_alomrane_gateway_client.contract.documents import attachment_header
from tests.thematic.arrange import open_case, open_file, send
from tests.units.test_units_and_routing import CASA, RABAT

NAME = "محضر اجتماع – procès-verbal Al Wifaq.pdf"


def _attach(client, file_id: str, content: bytes, name: str = NAME):
    return client.post(f"/v1/thematic-files/{file_id}/documents", content=content, headers={"Content-Disposition": attachment_header(name)})


def test_a_document_is_uploaded_listed_described_and_downloaded_by_the_other_side(imr, client_for, engine_sql, settings):
    holder = client_for(CASA)
    file = open_file(imr)["id"]
    pdf = samples.pdf(["Procès-verbal de la réunion du comité de suivi", "Lotissement Al Wifaq"])
    attached = _attach(imr, file, pdf)
    assert attached.status_code == 201, attached.text
    document = attached.json()
    assert (document["thematic_file_id"], document["case_id"], document["filename"], document["size"]) == (file, None, NAME, len(pdf))
    assert attached.headers["location"] == f"/v1/thematic-files/{file}/documents/{document['id']}"
    assert document["content"] == f"/v1/thematic-files/{file}/documents/{document['id']}/content"
    assert [d["id"] for d in holder.get(f"/v1/thematic-files/{file}/documents").json()] == [document["id"]]
    assert holder.get(f"/v1/thematic-files/{file}/documents/{document['id']}").json()["filename"] == NAME
    downloaded = holder.get(document["content"])
    assert downloaded.status_code == 200 and downloaded.content == pdf and downloaded.headers["content-digest"] == document["digest"]
    ranged = holder.get(document["content"], headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == pdf[:10]

    assert [e["kind"] for e in holder.get("/v1/inbox").json()["items"] if e["thematic_file_id"] == file][-1] == "document_attached"
    entry = holder.get("/v1/ledger/search", params={"case": file, "kind": "document_attached"}).json()["items"][0]["entry"]
    assert entry["resource"] == f"/v1/thematic-files/{file}/documents/{document['id']}"
    row = engine_sql("SELECT case_id, thematic_file_id, disposition_sealed FROM documents").one()
    assert (row[0], row[1]) == (None, file) and NAME.encode() not in bytes(row[2])
    blob = (settings.blob_dir / document["id"][:2] / document["id"]).read_bytes()
    assert len(blob) > len(pdf) and b"Lotissement Al Wifaq" not in blob and b"%PDF" not in blob


def test_documents_of_a_file_and_of_a_case_are_kept_apart(imr):
    file, case = open_file(imr)["id"], open_case(imr)
    document = _attach(imr, file, samples.png()).json()["id"]
    assert imr.get(f"/v1/cases/{case}/documents").json() == []
    assert imr.get(f"/v1/cases/{case}/documents/{document}").status_code == 404
    other = open_file(imr)["id"]
    assert imr.get(f"/v1/thematic-files/{other}/documents/{document}").status_code == 404
    assert send(imr, file, "closure").status_code == 201
    closed = _attach(imr, file, samples.png())
    assert closed.status_code == 409 and closed.json()["type"].endswith("/case-closed")


@pytest.mark.parametrize(("actor", "status"), [(CASA, 200), ("al-omrane", 200), (RABAT, 404), ("ac-casa", 404), ("auditor", 403)])
def test_a_files_documents_are_seen_as_the_file_is(imr, client_for, actor, status):
    file = open_file(imr)["id"]
    document = _attach(imr, file, samples.png()).json()
    client = client_for(actor)
    for response in (client.get(f"/v1/thematic-files/{file}/documents"), client.get(document["content"]),
                     client.get(f"/v1/thematic-files/{file}/documents/{document['id']}")):
        assert response.status_code == status, response.text
    upload = _attach(client, file, samples.png(), "photo.png")
    assert upload.status_code == (201 if status == 200 else status), upload.text
