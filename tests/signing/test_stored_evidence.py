"""What the gateway keeps as evidence verifies elsewhere: after a case's whole life, every request
signature it stored and every receipt it issued verifies with joserfc and with PyJWT, using only
the published JWK Set, and each `signed_request` body is the one its `dig` covers."""

from __future__ import annotations

import json
from collections import Counter

import jwt as pyjwt
import pytest
from joserfc import jws as joserfc_jws
from joserfc.jwk import KeySet

from gateway import samples
from imr_alomrane_gateway_client.signing import HEADER_MEMBERS, RECEIPT_TYPE, REQUEST_TYPE, content_digest
from tests.api.test_documents import upload
from tests.factories import SHORT_LIFE, case_payload, message

GATEWAY = "imr-alomrane-gateway"

STORED_SIGNATURES = """
    SELECT 'cases', signature, mediator_id FROM cases
    UNION ALL SELECT 'messages', signature, sender_id FROM messages
    UNION ALL SELECT 'documents', signature, sender_id FROM documents
    UNION ALL SELECT 'inbox_events', delivery_signature, recipient_id FROM inbox_events WHERE delivery_signature IS NOT NULL
"""


@pytest.fixture
def lived_case(imr, omrane) -> str:
    """A case opened, given a document, taken through SHORT_LIFE to closure, every event acknowledged."""
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    assert upload(imr, case_id, samples.pdf(["Contrat de réservation – عقد الحجز"])).status_code == 201
    clients = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE:
        sent = clients[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra))
        assert sent.status_code == 201, sent.text
    for client in clients.values():
        for event in client.get("/v1/inbox", params={"limit": 100}).json()["items"]:
            assert client.post(f"/v1/inbox/{event['id']}/ack").status_code == 200
    return case_id


def verified_elsewhere(token: str, jwks: dict, typ: str, issuer: str, audience: str | None = None) -> dict:
    """The claims, as joserfc and as PyJWT verify and read them: both must, and must agree."""
    by_joserfc = joserfc_jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    header = pyjwt.get_unverified_header(token)
    key = pyjwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    by_pyjwt = pyjwt.decode(token, key, algorithms=["ES256"], audience=audience, issuer=issuer)
    assert by_joserfc.headers() == header and header.keys() == HEADER_MEMBERS and header["typ"] == typ
    assert json.loads(by_joserfc.payload) == by_pyjwt
    return by_pyjwt


def test_every_stored_request_signature_verifies_with_joserfc_and_pyjwt(lived_case, omrane, engine_sql):
    jwks = omrane.get("/.well-known/jwks.json").json()
    stored = engine_sql(STORED_SIGNATURES).all()
    acknowledged = engine_sql("SELECT count(*) FROM inbox_events").scalar()
    assert Counter(table for table, _, _ in stored) == {"cases": 1, "messages": len(SHORT_LIFE), "documents": 1, "inbox_events": acknowledged}
    for _, token, sender in stored:
        verified_elsewhere(token, jwks, REQUEST_TYPE, sender, GATEWAY)

    case = omrane.get(f"/v1/cases/{lived_case}").json()
    served = [case["signed_request"], *(kept["signed_request"] for kept in case["messages"])]
    assert {evidence["signature"] for evidence in served} <= {token for _, token, _ in stored}
    for evidence in served:
        claims = pyjwt.decode(evidence["signature"], options={"verify_signature": False})
        assert claims["dig"] == content_digest(evidence["body"].encode("utf-8"))


def test_every_receipt_verifies_with_joserfc_and_pyjwt(lived_case, omrane, engine_sql):
    jwks = omrane.get("/.well-known/jwks.json").json()
    tokens = engine_sql("SELECT token FROM receipts").scalars().all()
    assert len(tokens) > len(SHORT_LIFE)
    for token in tokens:
        assert verified_elsewhere(token, jwks, RECEIPT_TYPE, GATEWAY)["case"] == lived_case
