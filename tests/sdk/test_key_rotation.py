"""A gateway that rotated its receipt key: the SDK refuses the new key until the pinned key
history announces it, and then gets the receipt of the write it refused by retrying it."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.security.dev import trust_roots
from gateway.security.pki import write_private_key
from imr_alomrane_gateway_client import CaseCreate, UnknownGatewayKey
from tests.factories import case_payload

pytestmark = pytest.mark.tls


@pytest.fixture
def settings(settings, tmp_path):
    """The gateway's receipt key rotated (the old one retired: it still verifies old receipts),
    its clients not told: they pin the old one."""
    new_key = tmp_path / "gateway-signing-2.key"
    write_private_key(new_key, ec.generate_private_key(ec.SECP256R1()))
    return settings.model_copy(update={"signing_key": new_key, "retired_signing_keys": [settings.signing_key_path]})


def test_a_key_change_is_refused_until_the_pinned_key_history_announces_it(sdk, settings, test_pki, tmp_path):
    pin = tmp_path / "gateway-keys.json"
    pin.write_text(json.dumps(test_pki.trust["receipt_keys"]))  # the key the clients were given: the old one
    imr = sdk("imr", receipt_keys=pin)
    payload = CaseCreate(**case_payload())
    with pytest.raises(UnknownGatewayKey):
        imr.open_case(payload, idempotency_key="rotation-1")
    assert trust_roots(settings)["receipt_keys"]["keys"][0]["kid"] not in imr.receipts.trust.receipts
    pin.write_text(imr.key_history().model_dump_json())  # the history the operators publish announces the new key
    accepted = imr.open_case(payload, idempotency_key="rotation-1")  # the stored answer, its receipt now verified
    assert accepted.receipt.replayed and accepted.consistent
    assert [case.reference for case in imr.cases_page().items] == [payload.reference]
