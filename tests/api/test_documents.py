"""Documents: attached with their digest signed, typed from their bytes, stored sealed, listed and
downloaded (with ranges) by the two parties only; every refusal stores nothing."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from gateway import samples
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.signing import content_digest
from tests.conftest import signer_for
from tests.factories import case_payload, message

ARABIC_NAME = "عقد البيع – Contrat de vente (نسخة 2).pdf"
LETTER = samples.pdf(["Objet : retard de livraison", "Dossier IMR/2026/00042"], padding=200_000)  # several segments


@pytest.fixture
def case_id(imr) -> str:
    return imr.post("/v1/cases", json=case_payload()).json()["id"]


def upload(client, case_id: str, data: bytes, filename: str = ARABIC_NAME, **headers: str):
    disposition = {"Content-Disposition": attachment_header(filename)}
    return client.post(f"/v1/cases/{case_id}/documents", content=data, headers={**disposition, **headers})


def stored_blobs(settings) -> list[Path]:
    return [path for path in settings.blob_dir.rglob("*") if path.is_file()]


def nothing_stored(settings, engine_sql) -> bool:
    rows = engine_sql("SELECT count(*) FROM documents").scalar()
    entries = engine_sql("SELECT count(*) FROM ledger_entries WHERE kind = 'document_attached'").scalar()
    return rows == 0 and entries == 0 and stored_blobs(settings) == []


def test_a_document_round_trips_with_its_exact_name_digest_and_ledger_entry(imr, omrane, client_for, case_id, settings):
    response = upload(imr, case_id, LETTER, **{"Content-Type": "image/png"})  # the declared type is not believed
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["filename"] == ARABIC_NAME and document["media_type"] == "application/pdf"
    assert document["size"] == len(LETTER) and document["digest"] == content_digest(LETTER)
    assert response.headers["location"] == f"/v1/cases/{case_id}/documents/{document['id']}"
    assert response.headers["receipt"]

    entries = client_for("auditor").get("/v1/ledger/search", params={"case": case_id}).json()["items"]
    attached = [e["entry"] for e in entries if e["entry"]["kind"] == "document_attached"]
    assert len(attached) == 1 and attached[0]["payload_digest"] == content_digest(LETTER)
    assert attached[0]["detail"] == "pdf" and ARABIC_NAME not in str(entries)

    for client in (imr, omrane):  # both parties list and read it
        assert [d["id"] for d in client.get(f"/v1/cases/{case_id}/documents").json()] == [document["id"]]
        download = client.get(document["content"])
        assert download.status_code == 200 and download.content == LETTER
        assert download.headers["content-digest"] == download.headers["repr-digest"] == content_digest(LETTER)
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"] == attachment_header(ARABIC_NAME)
    assert omrane.get("/v1/inbox").json()["items"][-1]["kind"] == "document_attached"

    for outsider in ("ac-casa", "auditor"):  # another respondent does not see it; auditors read no content
        assert client_for(outsider).get(document["content"]).status_code in (403, 404)
        assert client_for(outsider).get(f"/v1/cases/{case_id}/documents").status_code in (403, 404)
        assert upload(client_for(outsider), case_id, LETTER).status_code in (403, 404)
    assert [path.read_bytes().find(b"retard de livraison") for path in stored_blobs(settings)] == [-1]  # sealed


@pytest.mark.parametrize("make", [samples.pdf, samples.png, samples.jpeg, samples.tiff, samples.odt, samples.docx])
def test_every_accepted_type_is_recognised_from_its_bytes(imr, case_id, make):
    data = make(["x"]) if make is samples.pdf else make()
    response = upload(imr, case_id, data, filename="sans-extension")
    assert response.status_code == 201, response.text
    assert imr.get(response.json()["content"]).content == data


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00" + b"\x00" * 200,  # a Windows executable named .pdf
        b"<html><script>alert(1)</script></html>",
        "Lettre en texte brut – رسالة".encode(),
        samples.docx()[:4] + b"\x00" * 100,  # a ZIP that is not a document
        b"",
    ],
    ids=["executable", "html", "text", "zip", "empty"],
)
def test_other_types_are_refused_with_415_and_nothing_is_stored(imr, case_id, settings, engine_sql, data):
    response = upload(imr, case_id, data, filename="contrat.pdf", **{"Content-Type": "application/pdf"})
    assert response.status_code == 415 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/document-type-refused" and "application/pdf" in response.json()["accepted"]
    assert nothing_stored(settings, engine_sql)


def test_a_digest_mismatch_stores_nothing(imr, case_id, settings, engine_sql):
    response = upload(imr, case_id, LETTER, **{"Content-Digest": content_digest(LETTER[:-1])})
    assert response.status_code == 400 and response.json()["type"] == "/problems/content-digest-mismatch"
    assert nothing_stored(settings, engine_sql)
    retry = upload(imr, case_id, LETTER)  # the same document, honestly described, goes through
    assert retry.status_code == 201


def test_the_content_digest_is_required_and_must_be_sha256(imr, case_id, settings, engine_sql):
    md5 = upload(imr, case_id, LETTER, **{"Content-Digest": "md5=:" + base64.b64encode(hashlib.md5(LETTER).digest()).decode() + ":"})
    assert md5.status_code == 400 and md5.json()["type"] == "/problems/content-digest-required"
    assert nothing_stored(settings, engine_sql)


@pytest.mark.parametrize("signature, problem", [(None, "signature-missing"), ("junk", "signature-malformed")])
def test_an_upload_without_digest_is_refused_for_its_signature_first(imr, case_id, settings, engine_sql, signature, problem):
    """401 before 400, as for every other write (schemathesis' ignored-auth check found it answering
    400 content-digest-required to a request without credentials)."""
    headers = {"Content-Disposition": "attachment; filename=a.pdf", **({"Request-Signature": signature} if signature else {})}
    refused = imr.post(f"/v1/cases/{case_id}/documents", headers=headers, content=LETTER, auth=None)
    assert refused.status_code == 401 and refused.json()["type"] == f"/problems/{problem}"
    assert nothing_stored(settings, engine_sql)


def test_sizes_over_the_limit_get_413_declared_or_streamed(app, imr, case_id, settings, engine_sql):
    limit = settings.max_document_bytes
    declared = upload(imr, case_id, b"%PDF", "big.pdf", **{"Content-Length": str(limit + 1), "Content-Digest": content_digest(b"%PDF")})
    assert declared.status_code == 413 and declared.json()["type"] == "/problems/payload-too-large"
    settings.max_document_bytes = 100_000  # a chunked upload declares no length: counted as it arrives
    try:
        streamed = imr.post(
            f"/v1/cases/{case_id}/documents", content=iter([LETTER[:150_000], LETTER[150_000:]]),
            headers={"Content-Digest": content_digest(LETTER), "Content-Disposition": attachment_header("big.pdf")},
        )
    finally:
        settings.max_document_bytes = limit
    assert streamed.status_code == 413 and "100000 bytes" in streamed.json()["detail"]
    assert nothing_stored(settings, engine_sql)


@pytest.mark.parametrize(
    "name", ["", "a\x00b.pdf", "ligne\nnouvelle.pdf", "fdp.\u202egnp.exe", " espace.pdf", "x" * 256]
)
def test_file_names_that_cannot_be_kept_safely_are_refused(imr, case_id, name, settings, engine_sql):
    response = upload(imr, case_id, LETTER, filename=name)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert nothing_stored(settings, engine_sql)


def test_a_file_name_header_that_does_not_parse_or_was_not_signed_is_refused(imr, case_id, settings, engine_sql, test_pki):
    for header in ("attachment", "attachment; filename*=UTF-8''%FF%FE.pdf"):
        response = upload(imr, case_id, LETTER, **{"Content-Disposition": header})
        assert response.status_code == 422 and response.json()["type"] == "/problems/invalid-filename", header
    signed = imr.build_request("POST", f"/v1/cases/{case_id}/documents", content=LETTER,
                               headers={"Content-Disposition": attachment_header("facture.pdf")})
    signed = signer_for(test_pki, "imr")(signed)
    signed.headers["Content-Disposition"] = attachment_header("autre nom.pdf")  # changed after signing
    response = imr.send(signed, auth=None)
    assert response.status_code == 401 and response.json()["type"] == "/problems/signature-request-mismatch"
    assert nothing_stored(settings, engine_sql)


def test_file_names_are_kept_exactly_and_never_used_as_paths(imr, case_id, settings):
    for name in ("../../../etc/passwd", "C:\\Windows\\system.ini", "صورة الشقوق في الجدار.pdf", "Reçu n°12 – été.pdf"):
        document = upload(imr, case_id, LETTER, filename=name).json()
        assert imr.get(f"/v1/cases/{case_id}/documents/{document['id']}").json()["filename"] == name
    assert all(path.is_relative_to(settings.blob_dir) for path in stored_blobs(settings))
    assert not Path("/etc/passwd.part").exists()


def test_ranges(imr, case_id):
    url = upload(imr, case_id, LETTER).json()["content"]
    size = len(LETTER)
    cases = {
        "bytes=10-99": LETTER[10:100],
        "bytes=-5": LETTER[-5:],
        f"bytes={size - 3}-": LETTER[-3:],
        f"bytes=70000-{size + 1000}": LETTER[70000:],  # crosses segments, clipped at the end
        "bytes=65530-65545": LETTER[65530:65546],  # straddles the first segment boundary
    }
    for header, expected in cases.items():
        part = imr.get(url, headers={"Range": header})
        assert part.status_code == 206 and part.content == expected, header
        assert part.headers["content-digest"] == content_digest(expected)
        assert part.headers["repr-digest"] == content_digest(LETTER)
        start, end = part.headers["content-range"].removeprefix("bytes ").split("/")[0].split("-")
        assert LETTER[int(start):int(end) + 1] == expected
    for ignored in ("bytes=0-1,5-9", "items=0-5", "bytes=9-2"):
        assert imr.get(url, headers={"Range": ignored}).status_code == 200
    assert imr.get(url, headers={"Range": "bytes=0-5", "If-Range": '"another"'}).status_code == 200
    outside = imr.get(url, headers={"Range": f"bytes={size}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{size}"
    assert outside.json()["type"] == "/problems/range-not-satisfiable"


def test_messages_refer_to_documents_of_their_own_case(imr, omrane, case_id):
    document_id = upload(imr, case_id, LETTER).json()["id"]
    sent = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement", documents=[document_id]))
    assert sent.status_code == 201 and sent.json()["documents"] == [document_id]
    assert imr.get(f"/v1/cases/{case_id}").json()["messages"][0]["documents"] == [document_id]

    other_case = imr.post("/v1/cases", json=case_payload()).json()["id"]
    refused = omrane.post(f"/v1/cases/{other_case}/messages", json=message("acknowledgement", documents=[document_id]))
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/unknown-document"
    twice = omrane.post(f"/v1/cases/{case_id}/messages", json=message("information_request", documents=[document_id] * 2))
    assert twice.status_code == 422


def test_an_idempotent_retry_attaches_once(imr, case_id, engine_sql):
    first = upload(imr, case_id, LETTER, **{"Idempotency-Key": "upload-1"})
    again = upload(imr, case_id, LETTER, **{"Idempotency-Key": "upload-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert engine_sql("SELECT count(*) FROM documents").scalar() == 1


def test_closed_and_erased_cases_take_no_documents(imr, omrane, case_id, settings):
    document = upload(imr, case_id, LETTER).json()
    assert imr.delete(f"/v1/cases/{case_id}/personal-data").status_code == 200
    listed = imr.get(f"/v1/cases/{case_id}/documents").json()
    assert listed[0]["erased"] is True and listed[0]["filename"] is None and listed[0]["digest"] == document["digest"]
    gone = omrane.get(document["content"])
    assert gone.status_code == 410 and gone.json()["type"] == "/problems/personal-data-erased"
    assert upload(imr, case_id, LETTER).status_code == 410
    assert stored_blobs(settings) == []

    closed = imr.post("/v1/cases", json=case_payload()).json()["id"]
    for sender, kind, extra in [("al-omrane", "acknowledgement", {}), ("al-omrane", "final_reply", {"outcome": "favourable"}),
                                ("imr", "closure", {"outcome": "favourable"})]:
        assert {"imr": imr, "al-omrane": omrane}[sender].post(f"/v1/cases/{closed}/messages", json=message(kind, **extra)).status_code == 201
    refused = upload(omrane, closed, LETTER)
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/case-closed"


def test_problems_speak_arabic_too(imr, case_id):
    response = upload(imr, case_id, b"MZ" + b"\x00" * 50, **{"Accept-Language": "ar"})
    assert response.json()["title"] == "نوع الوثيقة غير مقبول" and response.headers["content-language"] == "ar"
