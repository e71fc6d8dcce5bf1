"""The catalogue: the authorization matrix. Each institution may do exactly what its role and its
part in a case allow: the mediator opens, asks and closes; the respondent answers; the auditor
reads the ledger and never a citizen's file; an institution that is not party to a case cannot
tell it exists. Every other combination is refused, and writes nothing."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway import samples
from tests.api.test_documents import upload
from tests.conftest import institution_client
from tests.factories import case_payload, message
from tests.hostile.builders import Case, a_case_with_everything
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

NEXT_MONTH = (datetime.now(UTC) + timedelta(days=30)).isoformat()


def _cosignature(witness: str) -> dict:
    """A well-formed cosignature line, by a key the caller never registered as a witness key."""
    return {"size": 1, "cosignature": f"\u2014 {witness} " + base64.b64encode(b"k" * 76).decode() + "\n"}


# What each request carries: JSON, a document, or nothing.
BODIES = {
    "case": lambda: {"json": case_payload()},
    "case against the auditor": lambda: {"json": case_payload(respondent_id="auditor")},
    "case against the mediator": lambda: {"json": case_payload(respondent_id="imr")},
    "case against an unregistered institution": lambda: {"json": case_payload(respondent_id="stranger")},
    "note": lambda: {"json": message("note")},
    "acknowledgement": lambda: {"json": message("acknowledgement")},
    "information request": lambda: {"json": message("information_request")},
    "interim reply": lambda: {"json": message("interim_reply")},
    "final reply": lambda: {"json": message("final_reply", outcome="favourable")},
    "follow-up": lambda: {"json": message("follow_up", new_deadline=NEXT_MONTH)},
    "closure": lambda: {"json": message("closure", outcome="favourable")},
    "cosignature": lambda: {"json": _cosignature("witness.example/w1")},
    "nothing": lambda: {"content": b""},
}

# (who, method, path, body, status, problem type); paths name the case's resources in braces.
MATRIX: dict[str, tuple[str, str, str, str, int, str]] = {
    # the auditor reads the ledger, never a case
    "the auditor opens a case": ("auditor", "POST", "/v1/cases", "case", 403, "role-forbidden"),
    "the auditor lists cases": ("auditor", "GET", "/v1/cases", "nothing", 403, "role-forbidden"),
    "the auditor reads the case": ("auditor", "GET", "{case}", "nothing", 403, "role-forbidden"),
    "the auditor reads a message": ("auditor", "GET", "{case}/messages/{message}", "nothing", 403, "role-forbidden"),
    "the auditor writes a message": ("auditor", "POST", "{case}/messages", "note", 403, "role-forbidden"),
    "the auditor erases the personal data": ("auditor", "DELETE", "{case}/personal-data", "nothing", 403, "role-forbidden"),
    "the auditor lists the documents": ("auditor", "GET", "{case}/documents", "nothing", 403, "role-forbidden"),
    "the auditor reads a document's description": ("auditor", "GET", "{case}/documents/{document}", "nothing", 403, "role-forbidden"),
    "the auditor downloads a document": ("auditor", "GET", "{case}/documents/{document}/content", "nothing", 403, "role-forbidden"),
    "the auditor attaches a document": ("auditor", "POST", "{case}/documents", "document", 403, "role-forbidden"),
    "the auditor reads an inbox": ("auditor", "GET", "/v1/inbox", "nothing", 403, "role-forbidden"),
    "the auditor acknowledges Al Omrane's event": ("auditor", "POST", "/v1/inbox/{omrane_event}/ack", "nothing", 403, "role-forbidden"),
    "the auditor reads a receipt": ("auditor", "GET", "/v1/receipts/{receipt}", "nothing", 403, "role-forbidden"),
    "the auditor looks receipts up": ("auditor", "GET", "/v1/receipts?resource={case}", "nothing", 403, "role-forbidden"),
    "the auditor cosigns without a witness key": ("auditor", "POST", "/v1/ledger/cosignatures", "cosignature", 403, "role-forbidden"),
    # the respondent answers: it does not open, close, follow up or erase
    "Al Omrane opens a case": ("al-omrane", "POST", "/v1/cases", "case", 403, "role-forbidden"),
    "Al Omrane closes the case": ("al-omrane", "POST", "{case}/messages", "closure", 409, "transition-refused"),
    "Al Omrane follows up": ("al-omrane", "POST", "{case}/messages", "follow-up", 409, "transition-refused"),
    "Al Omrane erases the personal data": ("al-omrane", "DELETE", "{case}/personal-data", "nothing", 403, "role-forbidden"),
    "Al Omrane acknowledges IMR's event": ("al-omrane", "POST", "/v1/inbox/{imr_event}/ack", "nothing", 404, "not-found"),
    "Al Omrane reads the ledger statistics": ("al-omrane", "GET", "/v1/ledger/statistics", "nothing", 403, "role-forbidden"),
    "Al Omrane exports the ledger": ("al-omrane", "GET", "/v1/ledger/export", "nothing", 403, "role-forbidden"),
    "Al Omrane cosigns without a witness key": ("al-omrane", "POST", "/v1/ledger/cosignatures", "cosignature", 403, "role-forbidden"),
    # the mediator asks and decides: it does not answer in the respondent's place
    "IMR acknowledges": ("imr", "POST", "{case}/messages", "acknowledgement", 409, "transition-refused"),
    "IMR asks itself for information": ("imr", "POST", "{case}/messages", "information request", 409, "transition-refused"),
    "IMR sends an interim reply": ("imr", "POST", "{case}/messages", "interim reply", 409, "transition-refused"),
    "IMR sends the final reply": ("imr", "POST", "{case}/messages", "final reply", 409, "transition-refused"),
    "IMR acknowledges Al Omrane's event": ("imr", "POST", "/v1/inbox/{omrane_event}/ack", "nothing", 404, "not-found"),
    "IMR reads the ledger statistics": ("imr", "GET", "/v1/ledger/statistics", "nothing", 403, "role-forbidden"),
    "IMR exports the ledger": ("imr", "GET", "/v1/ledger/export", "nothing", 403, "role-forbidden"),
    "IMR opens a case against the auditor": ("imr", "POST", "/v1/cases", "case against the auditor", 422, "unknown-respondent"),
    "IMR opens a case against itself": ("imr", "POST", "/v1/cases", "case against the mediator", 422, "unknown-respondent"),
    "IMR opens a case against an unregistered institution": (
        "imr", "POST", "/v1/cases", "case against an unregistered institution", 422, "unknown-respondent"),
    # another respondent is a stranger to the case: it cannot even tell that it exists
    "Casablanca reads the case": ("ac-casa", "GET", "{case}", "nothing", 404, "not-found"),
    "Casablanca reads a message": ("ac-casa", "GET", "{case}/messages/{message}", "nothing", 404, "not-found"),
    "Casablanca writes a note": ("ac-casa", "POST", "{case}/messages", "note", 404, "not-found"),
    "Casablanca acknowledges the case": ("ac-casa", "POST", "{case}/messages", "acknowledgement", 404, "not-found"),
    "Casablanca lists the documents": ("ac-casa", "GET", "{case}/documents", "nothing", 404, "not-found"),
    "Casablanca reads a document's description": ("ac-casa", "GET", "{case}/documents/{document}", "nothing", 404, "not-found"),
    "Casablanca downloads a document": ("ac-casa", "GET", "{case}/documents/{document}/content", "nothing", 404, "not-found"),
    "Casablanca attaches a document": ("ac-casa", "POST", "{case}/documents", "document", 404, "not-found"),
    "Casablanca reads a receipt": ("ac-casa", "GET", "/v1/receipts/{receipt}", "nothing", 404, "not-found"),
    "Casablanca acknowledges Al Omrane's event": ("ac-casa", "POST", "/v1/inbox/{omrane_event}/ack", "nothing", 404, "not-found"),
    "Casablanca erases the personal data": ("ac-casa", "DELETE", "{case}/personal-data", "nothing", 403, "role-forbidden"),
    "Casablanca opens a case": ("ac-casa", "POST", "/v1/cases", "case", 403, "role-forbidden"),
    "Casablanca reads the ledger statistics": ("ac-casa", "GET", "/v1/ledger/statistics", "nothing", 403, "role-forbidden"),
}


@pytest.fixture(scope="module")
def case(app, test_pki) -> Case:
    """One case for the whole matrix: each refusal is checked to write nothing."""
    return a_case_with_everything(institution_client(app, test_pki, "imr"), institution_client(app, test_pki, "al-omrane"))


def resolve(path: str, case: Case) -> str:
    return path.format(case=case.path, message=case.message_id, document=case.document_id, receipt=case.receipt_id,
                       omrane_event=case.omrane_event_id, imr_event=case.imr_event_id)


def attempt(client, method: str, path: str, body: str):
    """The request as the institution's own SDK would send it: signed with its own key."""
    if body == "document":
        return upload(client, path.removeprefix("/v1/cases/").removesuffix("/documents"), samples.pdf(["Pièce jointe"]))
    return client.request(method, path, **BODIES[body]())


@pytest.mark.parametrize("forbidden", MATRIX)
def test_what_a_role_or_a_stranger_to_the_case_may_not_do_is_refused(refusals, client_for, case, forbidden):
    who, method, path, body, status, slug = MATRIX[forbidden]
    refusals.arranged()
    refusals.check(attempt(client_for(who), method, resolve(path, case), body), status, slug)


@pytest.mark.parametrize("path", ["{case}", "{case}/messages", "{case}/documents", "{case}/documents/{document}/content"])
def test_a_case_that_is_not_yours_answers_like_one_that_does_not_exist(client_for, case, path):
    """A 404 that differed from the one for a made-up id would tell a stranger the case exists."""
    stranger = client_for("ac-casa")
    method, body = ("POST", "note") if path.endswith("/messages") else ("GET", "nothing")
    real = attempt(stranger, method, resolve(path, case), body)
    made_up = attempt(stranger, method, resolve(path, Case(str(uuid.uuid4()), *[str(uuid.uuid4())] * 5)), body)
    assert (real.status_code, real.headers["content-type"]) == (made_up.status_code, made_up.headers["content-type"]) == (404, "application/problem+json")
    per_request = {"instance": None, "request_id": None}
    assert {**real.json(), **per_request} == {**made_up.json(), **per_request}


@pytest.mark.parametrize("listing", ["/v1/cases", "/v1/inbox", "/v1/ledger/search?case={id}", "/v1/ledger/entries",
                                     "/v1/receipts?resource=/v1/cases/{id}"])
def test_what_a_stranger_to_the_case_can_list_holds_nothing_of_it(client_for, case, listing):
    """Lists filter rather than refuse: the case's id appears in none of them for another respondent."""
    listed = client_for("ac-casa").get(listing.format(id=case.id))
    assert listed.status_code == 200 and case.id not in listed.text
