"""Signed writes: every way a signature can be wrong is refused with its own 401 and writes nothing;
the contract is the documented claim set, not python-jose (joserfc and PyJWT signatures pass)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey

from gateway.app import create_app
from gateway.security.dev import signing_key_entry
from gateway.security.pki import write_private_key
from imr_alomrane_gateway_client.signers import load_private_key
from gateway.security.registry import RegisteredKey, Registry
from imr_alomrane_gateway_client.signing import REQUEST_TYPE, Signer, content_digest, request_claims, sign_request
from tests.conftest import institution_client
from tests.factories import case_payload

AUDIENCE = "imr-alomrane-gateway"
TABLES = ("cases", "messages", "inbox_events", "idempotency_records", "request_nonces", "receipts")


@pytest.fixture
def imr_key(test_pki) -> Signer:
    key = load_private_key(test_pki.dev.clients["imr"].signing_key)
    return Signer.from_private_key(key)


@pytest.fixture
def unsigned_imr(client_for) -> TestClient:
    return client_for("imr", sign=False)


def counts(engine_sql) -> dict[str, int]:
    return {table: engine_sql(f"SELECT COUNT(*) FROM {table}").scalar() for table in TABLES}


def post_signed(client: TestClient, token: str | None, body: bytes, path: str = "/v1/cases"):
    headers = {"Content-Type": "application/json", **({"Request-Signature": token} if token is not None else {})}
    return client.post(path, content=body, headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def body_bytes() -> bytes:
    return json.dumps(case_payload(), ensure_ascii=False).encode()


def forged(header: dict, claims: dict, signature: bytes = b"x" * 64) -> str:
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(signature)])


def test_a_correct_signature_is_accepted_and_kept_with_the_case(unsigned_imr, imr_key, client_for):
    body = body_bytes()
    token = sign_request(imr_key, "imr", AUDIENCE, "POST", "/v1/cases", body)
    response = post_signed(unsigned_imr, token, body)
    assert response.status_code == 201, response.text
    case = client_for("al-omrane").get(response.headers["location"]).json()
    assert case["signed_request"] == {"signature": token, "body": body.decode()}


def _cases(imr_key, other_key, body):
    now = time.time()
    good = request_claims("imr", AUDIENCE, "POST", "/v1/cases", body)

    def signed(**changes):
        return imr_key.sign({**good, **changes}, "gateway-request+jwt")

    return {
        "signature-missing": None,
        "signature-malformed": "not.a.jws",
        "signature-algorithm-refused": forged({"alg": "none", "kid": imr_key.kid}, good, b""),
        "signature-key-unknown": forged({"alg": "ES256", "kid": "no-such-key", "typ": REQUEST_TYPE}, good),
        "signature-key-not-yours": sign_request(other_key, "imr", AUDIENCE, "POST", "/v1/cases", body),
        "signature-invalid": forged({"alg": "ES256", "kid": imr_key.kid, "typ": REQUEST_TYPE}, good),
        "signature-request-mismatch": signed(htu="/v1/cases?x=1"),
        "signature-digest-mismatch": signed(dig=content_digest(body + b" ")),
        # base64url, as a JavaScript team's digest library writes it: not RFC 9530's padded standard base64
        "signature-digest-malformed": signed(dig="sha-256=:" + b64url(hashlib.sha256(body).digest()) + ":"),
        "signature-stale": signed(iat=int(now) - 3600),
    }


@pytest.mark.parametrize(
    "slug",
    ["signature-missing", "signature-malformed", "signature-algorithm-refused", "signature-key-unknown", "signature-key-not-yours",
     "signature-invalid", "signature-request-mismatch", "signature-digest-mismatch", "signature-digest-malformed", "signature-stale"],
)
def test_each_failure_is_a_401_of_its_own_type_and_writes_nothing(unsigned_imr, imr_key, test_pki, engine_sql, slug):
    body = body_bytes()
    other_key = Signer.from_private_key(load_private_key(test_pki.dev.clients["al-omrane"].signing_key))
    before = counts(engine_sql)
    response = post_signed(unsigned_imr, _cases(imr_key, other_key, body)[slug], body)
    assert response.status_code == 401, response.text
    assert response.json()["type"] == f"/problems/{slug}"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == (
        f'Request-Signature realm="{AUDIENCE}", alg="ES256", typ="gateway-request+jwt", error="{slug}"'
    )
    assert counts(engine_sql) == before


def test_a_digest_in_base64url_or_unpadded_is_told_the_form_expected(unsigned_imr, imr_key):
    body = body_bytes()
    raw = hashlib.sha256(body).digest()
    claims = request_claims("imr", AUDIENCE, "POST", "/v1/cases", body)
    for dig in ("sha-256=:" + b64url(raw) + ":", "sha-256=:" + base64.b64encode(raw).decode().rstrip("=") + ":"):
        response = post_signed(unsigned_imr, imr_key.sign({**claims, "dig": dig}, REQUEST_TYPE), body)
        assert response.json()["type"] == "/problems/signature-digest-malformed"
        assert content_digest(body) in response.json()["detail"]  # the value it should have been


def test_a_fractional_iat_is_told_it_must_be_a_whole_number(unsigned_imr, imr_key):
    """`Date.now() / 1000` is the current time, not a stale one: the problem says what is wrong."""
    body = body_bytes()
    claims = {**request_claims("imr", AUDIENCE, "POST", "/v1/cases", body), "iat": time.time()}
    response = post_signed(unsigned_imr, imr_key.sign(claims, REQUEST_TYPE), body)
    assert response.status_code == 401 and response.json()["type"] == "/problems/signature-malformed"
    assert "whole number of seconds" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256"},
        {"alg": "ES384"},
        {"alg": "ES256", "jku": "https://attacker.example/jwks.json"},
        {"alg": "ES256", "x5u": "https://attacker.example/cert.pem"},
        {"alg": "ES256", "crit": ["exp"]},
    ],
)
def test_algorithm_and_key_header_tricks_are_refused(unsigned_imr, imr_key, header, engine_sql):
    body = body_bytes()
    before = counts(engine_sql)
    token = forged({**header, "kid": imr_key.kid}, request_claims("imr", AUDIENCE, "POST", "/v1/cases", body))
    response = post_signed(unsigned_imr, token, body)
    assert response.status_code == 401 and response.json()["type"] == "/problems/signature-algorithm-refused"
    assert counts(engine_sql) == before


def test_hs256_keyed_with_the_public_key_is_refused(unsigned_imr, imr_key, test_pki):
    """The classic confusion attack: an HMAC "signature" keyed with the published EC key."""
    import hashlib
    import hmac

    body = body_bytes()
    public_pem = load_private_key(test_pki.dev.clients["imr"].signing_key).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "kid": imr_key.kid}).encode())
    payload = b64url(json.dumps(request_claims("imr", AUDIENCE, "POST", "/v1/cases", body)).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    response = post_signed(unsigned_imr, f"{header}.{payload}.{b64url(mac)}", body)
    assert response.status_code == 401 and response.json()["type"] == "/problems/signature-algorithm-refused"


def test_al_omrane_cannot_sign_over_imr_s_connection(client_for, test_pki, engine_sql):
    """IMR's certificate on the line, Al Omrane's signing key on the request (header claims iss=imr)."""
    imr_connection = client_for("imr", sign=False)
    omrane_key = Signer.from_private_key(load_private_key(test_pki.dev.clients["al-omrane"].signing_key))
    body = body_bytes()
    before = counts(engine_sql)
    for issuer in ("imr", "al-omrane"):
        response = post_signed(imr_connection, sign_request(omrane_key, issuer, AUDIENCE, "POST", "/v1/cases", body), body)
        assert response.status_code == 401 and response.json()["type"] == "/problems/signature-key-not-yours"
    assert counts(engine_sql) == before


def test_a_replay_within_the_window_is_refused(unsigned_imr, imr_key, engine_sql):
    body = body_bytes()
    token = sign_request(imr_key, "imr", AUDIENCE, "POST", "/v1/cases", body)
    assert post_signed(unsigned_imr, token, body).status_code == 201
    before = counts(engine_sql)
    replay = post_signed(unsigned_imr, token, body)
    assert replay.status_code == 401 and replay.json()["type"] == "/problems/signature-replayed"
    assert counts(engine_sql) == before


def test_the_audience_and_method_are_bound(unsigned_imr, imr_key):
    body = body_bytes()
    for claims in ({"aud": "another-gateway"}, {"htm": "PUT"}, {"iss": "al-omrane"}):
        token = imr_key.sign({**request_claims("imr", AUDIENCE, "POST", "/v1/cases", body), **claims}, "gateway-request+jwt")
        response = post_signed(unsigned_imr, token, body)
        assert response.status_code == 401 and response.json()["type"] == "/problems/signature-request-mismatch"


def test_signatures_made_with_joserfc_and_pyjwt_are_accepted(unsigned_imr, imr_key, test_pki):
    """Another team, another library: only the documented header and claims matter."""
    pem = load_private_key(test_pki.dev.clients["imr"].signing_key).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for library in ("joserfc", "pyjwt"):
        body = body_bytes()
        claims = request_claims("imr", AUDIENCE, "POST", "/v1/cases", body)
        header = {"alg": "ES256", "kid": imr_key.kid, "typ": "gateway-request+jwt"}
        if library == "joserfc":
            token = joserfc_jws.serialize_compact(header, json.dumps(claims).encode(), ECKey.import_key(pem), algorithms=["ES256"])
        else:
            token = pyjwt.encode(claims, pem, algorithm="ES256", headers={"kid": imr_key.kid, "typ": "gateway-request+jwt"})
        response = post_signed(unsigned_imr, token, body)
        assert response.status_code == 201, (library, response.text)


@pytest.fixture
def rotated(settings, registry_file, test_pki, tmp_path):
    """IMR with four keys: its original, a newer one (rotation), a revoked one and an expired one."""
    keys = {}
    for name in ("new", "revoked", "expired"):
        private = ec.generate_private_key(ec.SECP256R1())
        write_private_key(tmp_path / f"{name}.key", private)
        keys[name] = Signer.from_private_key(private)
    registry = Registry.load(registry_file)
    now = datetime.now(UTC)

    def entry(name, **extra):
        public = signing_key_entry(tmp_path / f"{name}.key")
        return RegisteredKey(kid=public.kid, jwk=public.jwk, **extra)

    institutions = [
        i.model_copy(update={"signing_keys": [*i.signing_keys, entry("new", not_before=now - timedelta(days=1)),
                                              entry("revoked", revoked=True),
                                              entry("expired", not_before=now - timedelta(days=60), not_after=now - timedelta(days=1))]})
        if i.id == "imr" else i
        for i in registry.institutions
    ]
    path = tmp_path / "registry.json"
    Registry(institutions=institutions).write(path)
    app = create_app(settings.model_copy(update={"registry_file": path}))
    with TestClient(app):
        keys["old"] = Signer.from_private_key(load_private_key(test_pki.dev.clients["imr"].signing_key))
        yield institution_client(app, test_pki, "imr", sign=False), keys


def test_a_rotated_key_works_and_revoked_or_expired_ones_do_not(rotated):
    client, keys = rotated
    for name, expected in (("old", 201), ("new", 201), ("revoked", "signature-key-revoked"), ("expired", "signature-key-expired")):
        body = body_bytes()
        response = post_signed(client, sign_request(keys[name], "imr", AUDIENCE, "POST", "/v1/cases", body), body)
        if expected == 201:
            assert response.status_code == 201, (name, response.text)
        else:
            assert response.status_code == 401 and response.json()["type"] == f"/problems/{expected}", name
    published = {key["kid"]: key for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert published[keys["revoked"].kid]["revoked"] is True and "exp" in published[keys["expired"].kid]
    assert published[keys["new"].kid]["owner"] == "imr"  # the kid is the key's RFC 7638 thumbprint
