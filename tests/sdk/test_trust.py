"""The SDK believes only the gateway keys it pinned: a receipt signed with another key (a swapped
one, an institution's passed off as the gateway's), a checkpoint signed with another key, are refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from imr_alomrane_gateway_client import CaseCreate, GatewayClient, ReceiptInvalid, UnknownGatewayKey
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from imr_alomrane_gateway_client.signers import load_private_key
from imr_alomrane_gateway_client.signing import RECEIPT_HEADER, RECEIPT_TYPE, CompactJws, Signer
from tests.factories import case_payload

pytestmark = pytest.mark.tls


def test_a_client_pins_its_trust_roots_or_says_it_trusts_on_first_use(test_pki):
    files = test_pki.files("imr")
    with pytest.raises(ValueError, match="trust_on_first_use"):
        GatewayClient("https://127.0.0.1:1", "imr", ca=test_pki.dev.ca_cert, cert=files.cert, key=files.key, signing_key=files.signing_key)


def forged(token: str, signer: Signer) -> str:
    """The same claims as a real receipt, signed with another key."""
    return signer.sign(CompactJws.parse(token).claims, RECEIPT_TYPE)


def substitute_receipts(client, monkeypatch, signer: Signer) -> None:
    real_send = client.http.send

    def send(request, **kwargs):
        response = real_send(request, **kwargs)
        if RECEIPT_HEADER in response.headers:
            response.headers[RECEIPT_HEADER] = forged(response.headers[RECEIPT_HEADER], signer)
        return response

    monkeypatch.setattr(client.http, "send", send)


def test_a_receipt_signed_with_an_institutions_own_key_is_refused_though_the_set_lists_it(sdk, test_pki, monkeypatch):
    imr = sdk("imr", receipt_keys=sdk("imr").jwks())  # the whole published set, institutions' request keys with the gateway's
    imr_key = Signer.from_private_key(load_private_key(test_pki.files("imr").signing_key))
    assert imr_key.kid in {key["kid"] for key in imr.jwks()["keys"]}
    substitute_receipts(imr, monkeypatch, imr_key)
    with pytest.raises(UnknownGatewayKey, match=imr_key.kid):
        imr.open_case(CaseCreate(**case_payload()))


def test_trust_on_first_use_keeps_the_first_keys_and_refuses_a_swap(sdk, monkeypatch):
    imr = sdk("imr", receipt_keys=None, checkpoint_key=None, trust_on_first_use=True)
    first = imr.open_case(CaseCreate(**case_payload()))
    assert CompactJws.parse(first.receipt.token).header["kid"] in imr.receipts.trust.receipts
    substitute_receipts(imr, monkeypatch, Signer.from_private_key(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(UnknownGatewayKey):
        imr.open_case(CaseCreate(**case_payload()))


def test_a_checkpoint_signed_with_another_key_than_the_pinned_one_is_refused(sdk, settings):
    other_log = NoteVerifier(settings.origin, ed25519.Ed25519PrivateKey.generate().public_key())
    imr = sdk("imr", checkpoint_key=other_log.key_string)
    with pytest.raises(ReceiptInvalid, match="ledger proof"):
        imr.open_case(CaseCreate(**case_payload()))
