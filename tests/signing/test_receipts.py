"""Signed receipts: every accepted write gets one, it verifies with the published JWKS alone,
and the sender can fetch a delivery receipt once the recipient acknowledges."""

from __future__ import annotations

import pytest

from imr_alomrane_gateway_client.signing import SignatureRejected, content_digest, keys_from_jwks, verify_receipt
from tests.factories import SHORT_LIFE, case_payload, message

GATEWAY = "imr-alomrane-gateway"


@pytest.fixture
def published_keys(imr):
    return keys_from_jwks(imr.get("/.well-known/jwks.json").json())


def check(response, published_keys, sender: str) -> dict:
    claims = verify_receipt(response.headers["receipt"], published_keys, GATEWAY)
    request = response.request
    assert claims["kind"] == "acceptance" and claims["sub"] == sender
    assert claims["req_dig"] == content_digest(request.content)
    assert claims["sig_dig"] == content_digest(request.headers["request-signature"].encode())
    assert claims["htm"] == request.method and claims["htu"] == request.url.raw_path.decode()
    if "location" in response.headers:
        assert claims["resource"] == response.headers["location"]
    return claims


def test_every_accepted_write_carries_a_receipt_that_verifies_with_the_jwks(imr, omrane, published_keys):
    created = imr.post("/v1/cases", json=case_payload())
    check(created, published_keys, "imr")
    case_id = created.json()["id"]
    clients = {"imr": imr, "al-omrane": omrane}
    for sender, kind, extra in SHORT_LIFE:
        check(clients[sender].post(f"/v1/cases/{case_id}/messages", json=message(kind, **extra)), published_keys, sender)
    event = omrane.get("/v1/inbox").json()["items"][0]
    check(omrane.post(f"/v1/inbox/{event['id']}/ack"), published_keys, "al-omrane")


def test_receipts_are_retrievable_by_the_parties_only(imr, client_for, published_keys):
    created = imr.post("/v1/cases", json=case_payload())
    location = created.headers["receipt-location"]
    stored = imr.get(location).json()
    assert stored["token"] == created.headers["receipt"] and stored["kind"] == "acceptance"
    assert client_for("al-omrane").get(location).status_code == 200
    assert client_for("ac-casa").get(location).status_code == 404
    assert client_for("auditor").get(location).status_code == 403


def test_a_delivery_receipt_follows_the_recipients_acknowledgement(imr, omrane, published_keys):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    sent = omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement"))
    resource = sent.headers["location"]
    assert [r["kind"] for r in omrane.get("/v1/receipts", params={"resource": resource}).json()] == ["acceptance"]

    event = next(e for e in imr.get("/v1/inbox").json()["items"] if e["kind"] == "message_received")
    ack = imr.post(f"/v1/inbox/{event['id']}/ack")
    imr.post(f"/v1/inbox/{event['id']}/ack")  # acknowledging again issues nothing new
    receipts = omrane.get("/v1/receipts", params={"resource": resource}).json()
    assert [r["kind"] for r in receipts] == ["acceptance", "delivery"]
    claims = verify_receipt(receipts[1]["token"], published_keys, GATEWAY)
    assert claims["sub"] == "al-omrane" and claims["recipient"] == "imr" and claims["event"] == event["id"]
    assert claims["sig_dig"] == content_digest(ack.request.headers["request-signature"].encode())


def test_an_idempotent_retry_returns_the_same_receipt(imr):
    payload = case_payload()
    first = imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": "r-1"})
    again = imr.post("/v1/cases", json=payload, headers={"Idempotency-Key": "r-1"})
    assert again.headers["receipt"] == first.headers["receipt"]


def test_a_tampered_or_foreign_receipt_is_refused(imr, published_keys):
    token = imr.post("/v1/cases", json=case_payload()).headers["receipt"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    with pytest.raises(SignatureRejected):
        verify_receipt(tampered, published_keys, GATEWAY)
    with pytest.raises(SignatureRejected):
        verify_receipt(token, published_keys, "some-other-gateway")
    institution_keys = {kid: key for kid, key in published_keys.items() if key.owner != GATEWAY}
    with pytest.raises(SignatureRejected):
        verify_receipt(token, institution_keys, GATEWAY)


@pytest.mark.parametrize("rewrite", [
    lambda token: token + "==",  # the signature padded: the signing input is unchanged
    lambda token: token[:-8] + " " * 4 + token[-8:],
    lambda token: token + "." + token.rpartition(".")[2],
], ids=["padding", "space", "four-segments"])
def test_a_receipt_not_in_canonical_form_is_refused(imr, published_keys, rewrite):
    """The SDK holds receipts to the rule the gateway holds requests to; the gateway's own meet it."""
    token = imr.post("/v1/cases", json=case_payload()).headers["receipt"]
    verify_receipt(token, published_keys, GATEWAY)
    with pytest.raises(SignatureRejected, match="canonical"):
        verify_receipt(rewrite(token), published_keys, GATEWAY)
