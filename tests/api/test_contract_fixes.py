"""The contract as an integrator writing from the README meets it: Content-Digest checked on JSON
writes, a challenge on every 401, replays marked, 415 for a body not sent as JSON, one cursor name
with its deprecated alias, `next_cursor` gone once caught up, the empty tree's checkpoint, and
every time the gateway writes in `Z` form."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from fastapi.testclient import TestClient

from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier, open_checkpoint
from imr_alomrane_gateway_client.ledger.merkle import EMPTY_ROOT
from imr_alomrane_gateway_client.signing import REQUEST_TYPE, Signer, content_digest, request_claims
from gateway.security.pki import load_private_key
from gateway.services import ledger as ledger_service
from gateway.runtime import Runtime
from tests.factories import case_payload, message

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
AUDIENCE = "imr-alomrane-gateway"


def _body() -> bytes:
    return json.dumps(case_payload(), ensure_ascii=False).encode()


def _signed_by_imr(test_pki, body: bytes, path: str = "/v1/cases") -> str:
    signer = Signer.from_private_key(load_private_key(test_pki.dev.clients["imr"].signing_key))
    return signer.sign(request_claims("imr", AUDIENCE, "POST", path, body), REQUEST_TYPE)


def test_a_content_digest_sent_with_a_json_write_must_be_the_bodys(imr, client_for, test_pki, ledger_size):
    body = _body()
    before = ledger_size()
    wrong = imr.post("/v1/cases", content=body, headers={"Content-Type": "application/json", "Content-Digest": content_digest(b"{}")})
    assert wrong.status_code == 400 and wrong.json()["type"] == "/problems/content-digest-mismatch"
    assert ledger_size() == before
    # Other algorithms are ignored (RFC 9530 lets a sender list several); the sha-256 member counts.
    unsigned = client_for("imr", sign=False)
    sha512 = base64.b64encode(hashlib.sha512(body).digest()).decode()
    other = unsigned.post("/v1/cases", content=body, headers={
        "Content-Type": "application/json", "Content-Digest": f"sha-512=:{sha512}:, {content_digest(body)}",
        "Request-Signature": _signed_by_imr(test_pki, body)})
    assert other.status_code == 201, other.text
    # A malformed header is its own 400, once the signature (over the body's real digest) holds.
    body = _body()
    urlsafe = "sha-256=:" + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=") + ":"
    malformed = unsigned.post("/v1/cases", content=body, headers={
        "Content-Type": "application/json", "Content-Digest": urlsafe, "Request-Signature": _signed_by_imr(test_pki, body)})
    assert malformed.status_code == 400 and malformed.json()["type"] == "/problems/content-digest-malformed"
    assert content_digest(body) in malformed.json()["detail"]
    # Authentication comes first: an unsigned write with a wrong digest is a 401.
    anonymous = unsigned.post("/v1/cases", content=body, headers={"Content-Type": "application/json", "Content-Digest": content_digest(b"")})
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "/problems/signature-missing"
    assert ledger_size() == before + 1


def test_every_401_carries_a_challenge(app, client_for):
    no_certificate = TestClient(app).get("/v1/me")
    assert no_certificate.status_code == 401
    assert no_certificate.headers["www-authenticate"] == f'Mutual-TLS realm="{AUDIENCE}", error="client-certificate-required"'
    unsigned = client_for("imr", sign=False).post("/v1/cases", json=case_payload())
    assert unsigned.headers["www-authenticate"].startswith(f'Request-Signature realm="{AUDIENCE}", alg="ES256"')
    assert "www-authenticate" not in client_for("imr").get("/v1/cases/nope").headers  # a 404 challenges nothing


def test_a_replayed_answer_says_so(imr):
    headers, payload = {"Idempotency-Key": "open-7f3a"}, case_payload()
    first = imr.post("/v1/cases", json=payload, headers=headers)
    again = imr.post("/v1/cases", json=payload, headers=headers)  # signed afresh, as a retry must be
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content and again.headers["receipt"] == first.headers["receipt"]


def test_a_json_write_without_json_content_type_is_415(imr):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    body = json.dumps(message("note")).encode()
    for headers in ({}, {"Content-Type": "text/plain;charset=UTF-8"}, {"Content-Type": "application/x-www-form-urlencoded"}):
        response = imr.post(f"/v1/cases/{case_id}/messages", content=body, headers=headers)
        assert response.status_code == 415, (headers, response.text)
        assert response.json()["type"] == "/problems/unsupported-media-type"
    assert imr.post(f"/v1/cases/{case_id}/messages", content=body, headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 201


def test_the_inbox_cursor_its_deprecated_alias_and_a_kept_seq(imr, omrane):
    ids = [imr.post("/v1/cases", json=case_payload()).json()["id"] for _ in range(3)]
    first = omrane.get("/v1/inbox", params={"limit": 2})
    cursor = first.json()["next_cursor"]
    by_cursor = omrane.get("/v1/inbox", params={"cursor": cursor})
    assert [e["case_id"] for e in by_cursor.json()["items"]] == ids[2:] and "next_cursor" not in by_cursor.json()
    assert "deprecation" not in by_cursor.headers
    by_seq = omrane.get("/v1/inbox", params={"cursor": "2"})  # the seq of the last event processed
    assert by_seq.json() == by_cursor.json()
    # The former name answers the same, announcing its deprecation and sunset.
    by_after = omrane.get("/v1/inbox", params={"after": cursor})
    assert by_after.json() == by_cursor.json()
    assert re.fullmatch(r"@\d+", by_after.headers["deprecation"])
    assert by_after.headers["sunset"].endswith(" GMT")
    paged = omrane.get("/v1/inbox", params={"after": "0", "limit": 1})
    assert "after=" not in paged.headers["link"] and "cursor=" in paged.headers["link"]
    both = omrane.get("/v1/inbox", params={"after": cursor, "cursor": cursor})
    assert both.status_code == 400 and both.json()["type"] == "/problems/cursor-conflict"
    assert both.json()["errors"][0]["parameter"] == "after"


def test_the_last_page_of_every_list_has_no_next_cursor(imr, omrane, client_for):
    imr.post("/v1/cases", json=case_payload())
    for client, path in ((imr, "/v1/cases"), (imr, "/v1/thematic-files"), (omrane, "/v1/inbox"),
                         (client_for("auditor"), "/v1/ledger/search")):
        body = client.get(path).json()
        assert "next_cursor" not in body, path


def test_an_empty_tree_has_a_signed_checkpoint(imr):
    ledger_key = imr.get("/v1/ledger/key").json()
    empty = imr.get("/v1/ledger/checkpoint", params={"size": 0})
    assert empty.status_code == 200 and empty.json()["size"] == 0
    checkpoint = open_checkpoint(empty.json()["note"], NoteVerifier.from_key_string(ledger_key["note_key"]), ledger_key["origin"])
    assert (checkpoint.size, checkpoint.root_hash) == (0, EMPTY_ROOT) == (0, hashlib.sha256(b"").digest())  # RFC 9162 §2.1.1
    assert imr.get("/v1/ledger/checkpoint", params={"size": 0}).json() == empty.json()  # Ed25519: the same note each time


def test_a_ledger_without_entries_answers_the_empty_trees_checkpoint(settings):
    """A database migrated but never served has no entry (serving writes the registry's first)."""
    runtime = Runtime(settings)
    with runtime.database.session(write=False) as session:
        size, note = ledger_service.checkpoint(session, runtime.ledger)
    assert size == 0 and open_checkpoint(note, runtime.ledger.signer.verifier).root_hash == EMPTY_ROOT
    runtime.database.dispose()


def test_every_time_the_gateway_writes_is_in_z_form(imr, omrane):
    opened = imr.post("/v1/cases", json=case_payload())
    event = omrane.get("/v1/inbox").json()["items"][0]
    omrane.post(f"/v1/inbox/{event['id']}/ack")
    receipts = imr.get("/v1/receipts", params={"resource": f"/v1/cases/{event['case_id']}"}).json()
    claims = [_claims(receipt["token"]) for receipt in receipts]
    times = [claim["at"] for claim in claims] + [claim["delivered_at"] for claim in claims if "delivered_at" in claim]
    times += [receipt["created_at"] for receipt in receipts] + [opened.json()["times"]["opened_at"], event["created_at"]]
    assert len(times) >= 5 and all(RFC3339_Z.match(moment) for moment in times), times


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
