"""Keys that cannot be confused: the gateway's key set (/.well-known/jwks.json) holds its own keys and
no institution's, so a "receipt" an institution signs with its own request key verifies with no
generic JOSE verifier against it (joserfc, PyJWT, the SDK), while a genuine one does; the
institutions' request keys are a set of their own. Every published key says what it is for and is
named by its RFC 7638 thumbprint."""

from __future__ import annotations

import json

import jwt as pyjwt
import pytest
from joserfc import jws as joserfc_jws
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from pydantic import ValidationError

from gateway.security.registry import RegisteredKey
from imr_alomrane_gateway_client.signing import RECEIPT_TYPE, CompactJws, SignatureRejected, Signer, keys_from_jwks, thumbprint, verify_receipt
from tests.conftest import signer_for
from tests.factories import case_payload

GATEWAY = "imr-alomrane-gateway"


@pytest.fixture
def published(imr) -> tuple[dict, dict]:
    """The gateway's key set and the institutions'."""
    return imr.get("/.well-known/jwks.json").json(), imr.get("/v1/institutions/keys").json()


@pytest.fixture
def genuine(imr) -> str:
    created = imr.post("/v1/cases", json=case_payload())
    assert created.status_code == 201, created.text
    return created.headers["receipt"]


def forged_by(signer: Signer, genuine: str, kid: str | None = None) -> str:
    """The genuine receipt's claims signed with an institution's request key, as a receipt (its kid
    the institution's own, or one of the gateway's)."""
    claims = CompactJws.parse(genuine).claims
    return Signer(kid or signer.kid, signer.key).sign(claims, RECEIPT_TYPE)


def joserfc_verifies(token: str, jwks: dict) -> dict:
    return json.loads(joserfc_jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["ES256"]).payload)


def pyjwt_verifies(token: str, jwks: dict) -> dict:
    key = pyjwt.PyJWKSet.from_dict(jwks)[pyjwt.get_unverified_header(token)["kid"]]
    return pyjwt.decode(token, key, algorithms=["ES256"], issuer=GATEWAY)


def test_a_genuine_receipt_verifies_against_the_gateway_set_with_joserfc_pyjwt_and_the_sdk(published, genuine):
    gateway_set, _ = published
    assert joserfc_verifies(genuine, gateway_set) == pyjwt_verifies(genuine, gateway_set) == CompactJws.parse(genuine).claims
    assert verify_receipt(genuine, keys_from_jwks(gateway_set), GATEWAY)["iss"] == GATEWAY


@pytest.mark.parametrize("named", ["its own kid", "the gateway's kid"])
def test_a_receipt_signed_with_an_institutions_request_key_fails_against_the_gateway_set(published, genuine, test_pki, named):
    gateway_set, institutions_set = published
    imr = signer_for(test_pki, "imr").signer
    assert imr.kid in {key["kid"] for key in institutions_set["keys"]}  # a registered, trusted request key
    kid = CompactJws.parse(genuine).header["kid"] if named == "the gateway's kid" else None
    forged = forged_by(imr, genuine, kid)
    if kid is None:  # a valid JWS, by a key anyone can see IMR registered
        assert joserfc_verifies(forged, institutions_set) == pyjwt_verifies(forged, institutions_set) == CompactJws.parse(genuine).claims
    with pytest.raises(JoseError) as joserfc_refused:
        joserfc_verifies(forged, gateway_set)
    assert isinstance(joserfc_refused.value, InvalidKeyIdError if kid is None else BadSignatureError)
    with pytest.raises(KeyError if kid is None else pyjwt.InvalidSignatureError):  # PyJWT: no key of that kid, or a bad signature
        pyjwt_verifies(forged, gateway_set)
    with pytest.raises(SignatureRejected):
        verify_receipt(forged, keys_from_jwks(gateway_set), GATEWAY)


def test_the_two_sets_are_disjoint_and_every_key_says_what_it_is_for_under_its_thumbprint(published, imr):
    gateway_set, institutions_set = published
    gateway_kids, institution_kids = ({key["kid"] for key in s["keys"]} for s in published)
    assert gateway_kids and institution_kids and not gateway_kids & institution_kids
    for key in [*gateway_set["keys"], *institutions_set["keys"]]:
        assert key["kid"] == thumbprint(key) and key["use"] == "sig" and key["key_ops"] == ["verify"], key
    assert {(key["purpose"], key["alg"], key["owner"]) for key in gateway_set["keys"]} == {
        ("receipts", "ES256", GATEWAY), ("ledger-checkpoints", "EdDSA", GATEWAY)}
    [checkpoint] = [key for key in gateway_set["keys"] if key["purpose"] == "ledger-checkpoints"]
    assert checkpoint["note_key"] == imr.get("/v1/ledger/key").json()["note_key"]
    assert {key["purpose"] for key in institutions_set["keys"]} == {"requests"}
    assert {(key["owner"], key["institution"]) for key in institutions_set["keys"]} >= {("imr", "imr"), ("al-omrane-casablanca-settat", "al-omrane")}
    assert keys_from_jwks(institutions_set) == {}  # the SDK takes receipt keys from a set, and finds none among the institutions'
    assert set(keys_from_jwks(institutions_set, "requests")) == institution_kids


def test_the_key_history_names_the_set_each_key_is_published_in(published, imr):
    gateway_set, institutions_set = published
    history = {key["kid"]: key for key in imr.get("/v1/keys/history").json()["keys"]}
    assert {kid: key["key_set"] for kid, key in history.items()} == {
        **{key["kid"]: "/.well-known/jwks.json" for key in gateway_set["keys"]},
        **{key["kid"]: "/v1/institutions/keys" for key in institutions_set["keys"]},
    }
    assert all(key["kid"] == thumbprint(key["jwk"]) for key in history.values())


def test_the_registry_refuses_a_kid_that_is_not_the_keys_thumbprint(published):
    _, institutions_set = published
    key = institutions_set["keys"][0]
    public = {name: key[name] for name in ("kty", "crv", "x", "y")}
    assert RegisteredKey.model_validate({"kid": key["kid"], "jwk": public}).kid == thumbprint(public)
    with pytest.raises(ValidationError, match=f"RFC 7638 thumbprint: {key['kid']} for this key, not 2026-a"):
        RegisteredKey.model_validate({"kid": "2026-a", "jwk": public})
