"""The catalogue, names and routing: characters that hide or reorder what a name shows, in every
name field and in document file names; Content-Disposition headers that say one thing to a lax
parser and another to RFC 6266; methods a path does not serve; trailing slashes with a hostile
Host. Each refusal is a problem document that names the field or header, never the value."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from gateway import samples
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.signing import SIGNATURE_HEADER, content_digest
from gateway.security.registry import RegisteredInstitution
from gateway.services.vault import Vault
from gateway.storage.models import Document
from tests.api.test_documents import upload
from tests.conftest import signer_for
from tests.factories import case_payload
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

PDF = samples.pdf(["Attestation de paiement"])

HIDDEN = {
    "LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c", "LRO": "\u202d", "RLO": "\u202e",
    "LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068", "PDI": "\u2069",
    "LRM": "\u200e", "RLM": "\u200f", "ALM": "\u061c",
    "NUL": "\x00", "TAB": "\t", "LF": "\n", "ESC": "\x1b", "DEL": "\x7f",
    "PAD": "\x80", "NEL": "\x85", "CSI": "\x9b", "APC": "\x9f",
    "ZWSP": "\u200b", "ZWNJ": "\u200c", "ZWJ": "\u200d", "WJ": "\u2060", "INVISIBLE TIMES": "\u2064",
    "BOM": "\ufeff", "SHY": "\u00ad", "LINE SEPARATOR": "\u2028", "PRIVATE USE": "\ue000", "TAG A": "\U000e0041",
}
# Between Latin letters a joiner changes nothing that is seen; ZWJ between Arabic letters only forces a joined shape.
JOINERS_OUT_OF_CONTEXT = {
    "ZWNJ leading": "\u200cمحمد", "ZWNJ after a space": "علي \u200cرضا", "ZWNJ doubled": "علی\u200c\u200cرضا",
    "ZWNJ after a right-joining letter": "دا\u200cود", "ZWJ between Arabic letters": "محم\u200dد",
}
NAME_FIELDS = {"complainant/full_name": ("complainant", "full_name"), "project/name": ("project", "name"),
               "project/city": ("project", "city")}
LEGITIMATE_NAMES = [
    "عبد الرحيم الإدريسي",
    "مُحَمَّد بْن عَبْد الله",  # with harakat (combining marks)
    "Youssef Aït Benhaddou",
    "Rene\u0301e Lefe\u0300vre",  # decomposed accents: kept as sent, not normalised
    "علی\u200cرضا محمدی",  # Persian: the ZWNJ keeps ی from joining ر
    "می\u200cخواهم",
    "ⵜⴰⵎⴰⵣⵉⵖⵜ Amazigh",
    "O'Brien-Ben Saïd, épouse El Ḥajjī",
]


def _with_name(field: tuple[str, str], value: str) -> dict:
    payload = case_payload()
    section, key = field
    payload[section] = {**payload[section], key: value}
    return payload


def _refused_name(refusals, response, pointer: str) -> None:
    refusals.check(response, 422, "validation-failed")
    [error] = response.json()["errors"]
    assert error["pointer"] == f"#/{pointer}" and error["code"] == "name_characters", error
    assert "Amrani" not in response.text


@pytest.mark.parametrize("character", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_complainant_name_with_a_hidden_character_is_refused(refusals, imr, character):
    response = imr.post("/v1/cases", json=_with_name(NAME_FIELDS["complainant/full_name"], f"Nadia{character}El Amrani"))
    _refused_name(refusals, response, "complainant/full_name")


@pytest.mark.parametrize("name", JOINERS_OUT_OF_CONTEXT.values(), ids=JOINERS_OUT_OF_CONTEXT.keys())
def test_a_joiner_where_it_changes_nothing_seen_is_refused(refusals, imr, name):
    response = imr.post("/v1/cases", json=_with_name(NAME_FIELDS["complainant/full_name"], name))
    _refused_name(refusals, response, "complainant/full_name")


@pytest.mark.parametrize("character", ["\u202e", "\u2067", "\u200b", "\x85"], ids=["RLO", "RLI", "ZWSP", "NEL"])
@pytest.mark.parametrize("pointer", NAME_FIELDS)
def test_every_name_field_refuses_hidden_characters(refusals, imr, pointer, character):
    response = imr.post("/v1/cases", json=_with_name(NAME_FIELDS[pointer], f"Amrani{character}exe.fdp"))
    _refused_name(refusals, response, pointer)


def test_an_institution_name_in_the_registry_follows_the_same_rule():
    entry = {"id": "imr", "name_fr": "Médiateur", "name_ar": "الوسيط", "role": "mediator", "certificates": [{"subject": "CN=imr"}]}
    RegisteredInstitution.model_validate(entry)
    for field in ("name_fr", "name_ar"):
        with pytest.raises(ValidationError, match="name_characters|invisible"):
            RegisteredInstitution.model_validate({**entry, field: "Médiateur\u202e"})


@pytest.mark.parametrize("name", LEGITIMATE_NAMES)
def test_legitimate_arabic_and_french_names_round_trip_byte_for_byte(imr, name):
    payload = _with_name(NAME_FIELDS["complainant/full_name"], name)
    payload["project"] = {**payload["project"], "name": name, "city": name}
    created = imr.post("/v1/cases", json=payload)
    assert created.status_code == 201, created.text
    read = imr.get(f"/v1/cases/{created.json()['id']}")
    assert read.json()["complainant"]["full_name"] == read.json()["project"]["name"] == name
    assert name.encode() in read.content


@pytest.fixture
def case_id(imr, refusals) -> str:
    created = imr.post("/v1/cases", json=case_payload()).json()["id"]
    refusals.arranged()
    return created


def _refused_file_name(refusals, response) -> None:
    refusals.check(response, 422, "invalid-filename")
    assert response.json()["errors"] == [{"header": "content-disposition", "detail": response.json()["detail"], "code": "filename"}]
    assert "rapport" not in response.text


@pytest.mark.parametrize("character", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_file_name_with_a_hidden_character_is_refused_in_filename_star(refusals, imr, case_id, character):
    _refused_file_name(refusals, upload(imr, case_id, PDF, filename=f"rapport{character}fdp.exe"))


@pytest.mark.parametrize("character", ["\t", "\x7f"], ids=["TAB", "DEL"])  # the controls a quoted string can hold
def test_a_file_name_with_a_control_is_refused_in_plain_filename(refusals, imr, case_id, character):
    header = f'attachment; filename="rapport{character}.pdf"'
    _refused_file_name(refusals, upload(imr, case_id, PDF, **{"Content-Disposition": header}))


RFC_6266_TRICKS = {
    "duplicate filename": "attachment; filename=rapport.pdf; filename=payload.exe",
    "duplicate in another case": "attachment; filename=rapport.pdf; FileName=payload.exe",
    "duplicate filename*": "attachment; filename*=UTF-8''rapport.pdf; filename*=UTF-8''payload.exe",
    "charset ISO-8859-1": "attachment; filename*=ISO-8859-1''rapport%E9.pdf; filename=rapport.pdf",
    "charset us-ascii": "attachment; filename*=us-ascii''rapport.pdf; filename=rapport.pdf",
    "percent cut short": "attachment; filename*=UTF-8''rapport%2.pdf",
    "percent not hex": "attachment; filename*=UTF-8''rapport%G1.pdf",
    "percent-encoded non-UTF-8": "attachment; filename*=UTF-8''rapport%E9.pdf; filename=rapport.pdf",
    "filename* quoted": "attachment; filename*=\"UTF-8''rapport.pdf\"; filename=rapport.pdf",
    "unclosed quote": "attachment; filename=\"rapport.pdf; filename*=UTF-8''payload.exe",
    "no semicolon": "attachment filename=rapport.pdf",
    "a parameter without a value": "attachment; inline; filename=rapport.pdf",
    "trailing semicolon": "attachment; filename=rapport.pdf;",
    "no file name": "attachment; name=rapport.pdf",
}


@pytest.mark.parametrize("header", RFC_6266_TRICKS.values(), ids=RFC_6266_TRICKS.keys())
def test_content_disposition_tricks_are_refused(refusals, imr, case_id, header):
    _refused_file_name(refusals, upload(imr, case_id, PDF, **{"Content-Disposition": header}))


def test_octets_outside_ascii_in_a_plain_filename_are_refused(refusals, imr, case_id, test_pki):
    """Their charset is anyone's guess (ISO-8859-1 by the letter of RFC 6266, UTF-8 in practice): such
    a name goes in filename*. The test client sends header text as UTF-8, so the signature is made
    over the octets the gateway receives."""
    sent = "attachment; filename=\"rapport-été.pdf\""
    received = sent.encode().decode("latin-1")
    path = f"/v1/cases/{case_id}/documents"
    signature = signer_for(test_pki, "imr").sign("POST", path, content_digest(PDF), {"content-disposition": received})
    headers = {"Content-Disposition": sent.encode(), "Content-Digest": content_digest(PDF), SIGNATURE_HEADER: signature}
    _refused_file_name(refusals, imr.post(path, content=PDF, headers=headers, auth=None))


ONE_QUOTED_VALUE = {
    "attachment; filename=\"rapport.pdf; filename*=UTF-8''payload.exe\"": "rapport.pdf; filename*=UTF-8''payload.exe",
    "attachment; filename=\"rapport.pdf\\\"; filename*=UTF-8''payload.exe\"": "rapport.pdf\"; filename*=UTF-8''payload.exe",
}
# Guards against a parser stricter than the RFC (these were read before, and still are).
STILL_READ = {
    "attachment; filename=\"r\\apport.pdf\"": "rapport.pdf",  # a quoted pair stands for the character
    "Attachment ; FILENAME = \"rapport.pdf\" ; Filename* = utf-8'fr'rapport%20d%C3%A9finitif.pdf": "rapport définitif.pdf",
}


@pytest.mark.parametrize("header, name", [*ONE_QUOTED_VALUE.items(), *STILL_READ.items()])
def test_a_quoted_string_is_one_value_and_filename_star_wins_only_as_a_parameter_of_its_own(imr, case_id, header, name):
    document = upload(imr, case_id, PDF, **{"Content-Disposition": header})
    assert document.status_code == 201, document.text
    assert document.json()["filename"] == name and document.json()["disposition"] == header
    download = imr.get(document.json()["content"])
    assert download.headers["content-disposition"] == attachment_header(name)


@pytest.mark.parametrize("name", LEGITIMATE_NAMES + ["عقد البيع – نسخة 2.pdf", "Reçu n°12 – été.pdf"])
def test_legitimate_file_names_round_trip(imr, case_id, name):
    document = upload(imr, case_id, PDF, filename=name)
    assert document.status_code == 201, document.text
    assert imr.get(f"/v1/cases/{case_id}/documents/{document.json()['id']}").json()["filename"] == name
    assert imr.get(document.json()["content"]).headers["content-disposition"] == attachment_header(name)


def test_a_header_kept_before_the_strict_parser_is_shown_without_a_name(app, imr, case_id):
    """A lax parser accepted it once; reading it now answers, with the signed header and no name."""
    document = upload(imr, case_id, PDF, filename="rapport.pdf").json()
    lax = "attachment; filename=rapport.pdf; filename=payload.exe"
    runtime = app.state.runtime
    with runtime.database.session(write=True) as session:
        stored = session.get(Document, document["id"])
        stored.disposition_sealed = Vault.seal_disposition(runtime.vault.data_key(session, case_id), case_id, stored.id, lax)
        session.commit()
    described = imr.get(f"/v1/cases/{case_id}/documents/{document['id']}").json()
    assert described["filename"] is None and described["disposition"] == lax
    download = imr.get(document["content"])
    assert download.status_code == 200 and download.headers["content-disposition"] == attachment_header(document["id"])


CASE = f"/v1/cases/{uuid.uuid4()}"
NOT_SERVED = [
    ("DELETE", "/v1/me", "GET"),
    ("PUT", "/v1/cases", "GET, POST"),
    ("DELETE", "/v1/cases", "GET, POST"),
    ("GET", "/v1/ledger/cosignatures", "POST"),
    ("PATCH", CASE, "GET"),
    ("GET", f"{CASE}/messages", "POST"),
    ("PUT", f"{CASE}/documents", "GET, POST"),
    ("POST", f"{CASE}/documents/{uuid.uuid4()}/content", "GET"),
    ("GET", f"{CASE}/personal-data", "DELETE"),
    ("GET", f"/v1/inbox/{uuid.uuid4()}/ack", "POST"),
    ("DELETE", "/v1/receipts", "GET"),
]


@pytest.mark.parametrize("method, path, allow", NOT_SERVED)
def test_a_method_the_path_does_not_serve_is_405_with_allow(refusals, imr, method, path, allow):
    response = imr.request(method, path)
    refusals.check(response, 405, "method-not-allowed")
    assert response.headers["allow"] == allow


@pytest.mark.parametrize("method, path", [
    ("GET", "/v1/me/"), ("GET", "/v1/cases/"), ("GET", "/v1/inbox/"), ("GET", "/v1/ledger/checkpoint/"),
    ("GET", "/.well-known/jwks.json/"), ("POST", "/v1/cases/"), ("GET", f"{CASE}/"),
])
def test_a_trailing_slash_is_404_and_nothing_is_built_from_host(refusals, imr, method, path):
    response = imr.request(method, path, headers={"Host": "evil.example"}, json=case_payload() if method == "POST" else None,
                           follow_redirects=False)
    refusals.check(response, 404, "not-found")
    assert "location" not in response.headers and "evil.example" not in response.text
