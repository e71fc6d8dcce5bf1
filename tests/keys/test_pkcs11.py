"""Keys in an HSM (PKCS#11, against a SoftHSM2 token): receipts and checkpoints signed there verify
with other JOSE libraries and with the ledger's own verifier, a whole signed write through the app
gives a receipt that verifies against the JWKS, and a set-up the token refuses is one line naming
the setting. The wrong PIN is in tests/cli/test_configuration_errors.py: PKCS#11 logs a process in
once, so only a fresh process shows a PIN being refused."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jose import jwk as jose_jwk
from jose import jws
from joserfc import jws as joserfc_jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey
from pydantic import ValidationError

from gateway.app import create_app
from gateway.cli import main
from gateway.config import Settings
from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, NoteSigner, NoteVerifier, open_checkpoint, sign_note
from gateway.ledger.verify import verify_export
from gateway.misconfiguration import ConfigurationError, from_settings
from gateway.runtime import Runtime
from gateway.security.keys import gateway_key, key_file
from gateway.security.signers import Pkcs11Signer, pkcs11_module
from imr_alomrane_gateway_client.signers import EDDSA, ES256, verify
from imr_alomrane_gateway_client.signing import RECEIPT_TYPE, Signer, keys_from_jwks, public_jwk, verify_receipt
from tests.conftest import SoftHsm, institution_client
from tests.factories import case_payload

GATEWAY = "imr-alomrane-gateway"
CLAIMS = {"iss": GATEWAY, "rid": "r-1", "kind": "acceptance", "case": "c-1", "iat": 1764583200, "at": "2026-12-01T10:00:00+00:00",
          "note": "تسليم – livraison"}


def token_signer(softhsm: SoftHsm, label: str, algorithm: str) -> Pkcs11Signer:
    module = pkcs11_module(softhsm.module)
    return module.log_in(module.token(softhsm.token_label), softhsm.pin).signer(label, algorithm)


def python_jose_signing_input(claims: dict, kid: str) -> str:
    """What python-jose itself makes of these claims, with a key in memory: header.payload."""
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    token = jws.sign(claims, jose_jwk.construct(pem.decode(), "ES256"), headers={"kid": kid, "typ": RECEIPT_TYPE}, algorithm="ES256")
    return token.rpartition(".")[0]


def test_a_receipt_signed_in_the_token_is_python_joses_jws_and_verifies_with_jose_joserfc_and_the_sdk(softhsm):
    key = token_signer(softhsm, softhsm.signing_label, ES256)
    signer = Signer.of(key)
    token = signer.sign(CLAIMS, RECEIPT_TYPE)
    assert token.rpartition(".")[0] == python_jose_signing_input(CLAIMS, signer.kid)  # only the signature is the token's
    jwk = {**public_jwk(key.public_key), "kid": signer.kid}
    assert json.loads(jws.verify(token, jwk, algorithms=["ES256"])) == CLAIMS
    assert json.loads(joserfc_jws.deserialize_compact(token, ECKey.import_key(jwk), algorithms=["ES256"]).payload) == CLAIMS
    assert verify_receipt(token, keys_from_jwks({"keys": [gateway_key(key, GATEWAY)[1].published()]}), GATEWAY) == CLAIMS
    other_claims = python_jose_signing_input({**CLAIMS, "case": "c-2"}, signer.kid)
    with pytest.raises(BadSignatureError):
        joserfc_jws.deserialize_compact(other_claims + "." + token.rpartition(".")[2], ECKey.import_key(jwk), algorithms=["ES256"])


def test_a_checkpoint_signed_in_the_token_verifies_with_its_published_verifier_key(softhsm):
    signer = NoteSigner(f"{GATEWAY}/ledger", token_signer(softhsm, softhsm.checkpoint_label, EDDSA))
    note = sign_note(Checkpoint(signer.name, 7, bytes(range(32))).body(), signer)
    verifier = NoteVerifier.from_key_string(signer.verifier.key_string)  # what auditors are given
    assert open_checkpoint(note, verifier, signer.name) == Checkpoint(signer.name, 7, bytes(range(32)))


def test_signatures_from_many_threads_take_turns_on_the_one_session(softhsm):
    key = token_signer(softhsm, softhsm.signing_label, ES256)
    messages = [f"receipt {n}".encode() for n in range(64)]
    with ThreadPoolExecutor(8) as pool:
        signatures = list(pool.map(key.sign, messages))
    for message, signature in zip(messages, signatures, strict=True):
        verify(key.public_key, signature, message)  # raises if any was garbled by another thread's operation


@pytest.fixture
def hsm_settings(settings: Settings, softhsm: SoftHsm) -> Settings:
    """The test app's settings with both gateway keys in the token (the PEM files it also has go unused)."""
    return Settings(**{**settings.model_dump(), **softhsm.settings}, _env_file=None)


def test_a_signed_write_through_the_app_gets_a_receipt_from_the_token_that_verifies_against_the_jwks(hsm_settings, softhsm, test_pki):
    files = test_pki.dev.gateway_keys  # the PEM keys these settings also name, which the token's must replace
    app = create_app(hsm_settings)
    with TestClient(app):
        imr, auditor = institution_client(app, test_pki, "imr"), institution_client(app, test_pki, "auditor")
        jwks = imr.get("/.well-known/jwks.json").json()
        created = imr.post("/v1/cases", json=case_payload())
        assert created.status_code == 201, created.text
        claims = verify_receipt(created.headers["receipt"], keys_from_jwks(jwks), GATEWAY)
        assert claims["case"] == created.json()["id"]
        token_kid = Signer.of(token_signer(softhsm, softhsm.signing_label, ES256)).kid
        assert jws.get_unverified_header(created.headers["receipt"])["kid"] == token_kid != Signer.of(key_file(files.signing, ES256)).kid
        [note_key] = [key["note_key"] for key in jwks["keys"] if key.get("purpose") == "ledger-checkpoints"]
        assert note_key != NoteSigner(hsm_settings.origin, key_file(files.checkpoint, EDDSA)).verifier.key_string
        export = auditor.get("/v1/ledger/export")
        assert export.status_code == 200
        verdict = verify_export(export.content.splitlines(keepends=True), NoteVerifier.from_key_string(note_key), progress=None)
        assert verdict.entries == 2  # the start-up's registry_changed (naming the token's keys), the case's


REFUSALS = {
    "no module there": ({"pkcs11_module": "{tmp}/nowhere.so"}, "GATEWAY_PKCS11_MODULE", "does not exist"),
    "not a PKCS#11 module": ({"pkcs11_module": "{tmp}/not-a-module.so"}, "GATEWAY_PKCS11_MODULE", "not-a-module.so does not load (file too short)"),
    "no token by that label": ({"pkcs11_token_label": "elsewhere"}, "GATEWAY_PKCS11_TOKEN_LABEL", "its tokens: gateway-test"),
    "no receipt key by that label": ({"pkcs11_signing_key_label": "nowhere"}, "GATEWAY_PKCS11_SIGNING_KEY_LABEL", "no private key and public key are both labelled 'nowhere'"),
    "the receipt key's label for the checkpoint key": (
        {"pkcs11_checkpoint_key_label": "gateway-receipts"}, "GATEWAY_PKCS11_CHECKPOINT_KEY_LABEL", "not an Ed25519 key"),
    "the checkpoint key's label for the receipt key": (
        {"pkcs11_signing_key_label": "gateway-checkpoints"}, "GATEWAY_PKCS11_SIGNING_KEY_LABEL", "not an EC P-256 key"),
    "a PIN file that is not there": ({"pkcs11_pin": None, "pkcs11_pin_file": "{tmp}/nowhere.pin"}, "GATEWAY_PKCS11_PIN_FILE", "does not exist"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_token_set_up_the_gateway_cannot_use_is_one_line_naming_its_setting(case, hsm_settings, tmp_path):
    overrides, setting, problem = REFUSALS[case]
    (tmp_path / "not-a-module.so").write_text("not a shared library\n")
    changed = {name: value.format(tmp=tmp_path) if isinstance(value, str) else value for name, value in overrides.items()}
    runtime = Runtime(Settings(**{**hsm_settings.model_dump(), **changed}, _env_file=None))
    with pytest.raises(ConfigurationError) as refused:
        runtime.check_configuration()
    [line] = str(refused.value).splitlines()
    assert refused.value.setting == setting and problem in line, line
    assert hsm_settings.pkcs11_pin.get_secret_value() not in line


INCOMPLETE = {
    "a key label without a module": ({"pkcs11_signing_key_label": "gateway-receipts"}, "GATEWAY_PKCS11_MODULE"),
    "a module without a token label": ({"pkcs11_module": "/m.so", "pkcs11_pin": "1", "pkcs11_signing_key_label": "k"}, "GATEWAY_PKCS11_TOKEN_LABEL"),
    "a module without a PIN": ({"pkcs11_module": "/m.so", "pkcs11_token_label": "t", "pkcs11_signing_key_label": "k"}, "GATEWAY_PKCS11_PIN"),
    "a PIN and a PIN file": (
        {"pkcs11_module": "/m.so", "pkcs11_token_label": "t", "pkcs11_pin": "1", "pkcs11_pin_file": "/p", "pkcs11_signing_key_label": "k"},
        "GATEWAY_PKCS11_PIN"),
    "a module naming no key": ({"pkcs11_module": "/m.so", "pkcs11_token_label": "t", "pkcs11_pin": "1"}, "GATEWAY_PKCS11_MODULE"),
}


@pytest.mark.parametrize("case", INCOMPLETE)
def test_a_token_is_configured_whole_or_not_at_all(case):
    overrides, setting = INCOMPLETE[case]
    with pytest.raises(ValidationError) as invalid:
        Settings(**overrides, _env_file=None)
    assert from_settings(invalid.value).setting == setting


def test_keys_init_in_token_makes_the_labelled_keys_there_and_only_the_master_key_a_file(softhsm, tmp_path, monkeypatch, capsys):
    labels = {"pkcs11_signing_key_label": "init-receipts", "pkcs11_checkpoint_key_label": "init-checkpoints"}
    for name, value in softhsm.env(**labels).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert main(["keys", "init", "--dir", str(tmp_path / "keys"), "--in-token"]) == 0
    out = capsys.readouterr().out
    assert [path.name for path in (tmp_path / "keys").iterdir()] == ["master.key"]
    receipt, checkpoint = (token_signer(softhsm, label, algorithm) for label, algorithm in zip(labels.values(), (ES256, EDDSA)))
    kid = Signer.of(receipt).kid
    assert json.dumps({**public_jwk(receipt.public_key), "kid": kid, "use": "sig", "key_ops": ["verify"], "alg": "ES256", "owner": GATEWAY,
                       "purpose": "receipts"}, separators=(",", ":")) in out
    assert NoteSigner(f"{GATEWAY}/ledger", checkpoint).verifier.key_string in out
    assert "GATEWAY_PKCS11_SIGNING_KEY_LABEL=init-receipts" in out and "GATEWAY_PKCS11_CHECKPOINT_KEY_LABEL=init-checkpoints" in out

    assert main(["keys", "init", "--dir", str(tmp_path / "again"), "--in-token"]) == 1
    assert "already holds 'init-receipts', 'init-checkpoints'" in capsys.readouterr().err
    assert not (tmp_path / "again").exists()
    assert Signer.of(token_signer(softhsm, labels["pkcs11_signing_key_label"], ES256)).kid == kid  # not replaced
