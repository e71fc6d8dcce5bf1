"""The catalogue: every trick against request signatures. A signature is what makes a write
attributable for ever, so each forgery must be a 401 of its own type that writes nothing; one
that got through would put words in an institution's mouth."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.security import pki
from imr_alomrane_gateway_client.signing import REQUEST_TYPE, content_digest, public_jwk
from tests.factories import case_payload, message
from tests.hostile.builders import (
    REMOVED,
    SignedRequest,
    attackers_key,
    attackers_rsa_key,
    b64url,
    upload_request,
)
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

Build = Callable[[SignedRequest], "str | None"]


@pytest.fixture
def signed(test_pki, client_for) -> SignedRequest:
    """IMR opening a case over its own certificate; the token is the test's to choose."""
    return SignedRequest(test_pki, client_for("imr", sign=False))


def _parts(token: str) -> list[str]:
    return token.split(".")


def _grafted(request: SignedRequest) -> str:
    """The header and claims of this request with the signature of another one."""
    header, payload, _ = _parts(request.genuine())
    return ".".join([header, payload, _parts(request.genuine(htu="/v1/cases?other"))[2]])


def _claims_edited_after_signing(request: SignedRequest) -> str:
    header, _, signature = _parts(request.genuine())
    return ".".join([header, b64url(json.dumps(request.claims(htu="/v1/cases?edited")).encode()), signature])


def _der_signature(request: SignedRequest) -> str:
    """ECDSA over the right input, DER-encoded instead of JWS's raw r‖s."""
    header, payload, _ = _parts(request.genuine())
    der = request.private_key().sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    return ".".join([header, payload, b64url(der)])


def _attackers_certificate() -> str:
    """x5c's form: base64 (not base64url) DER, here a self-signed certificate named imr."""
    return base64.b64encode(pki.CertificateAuthority.generate("imr").certificate.public_bytes(Encoding.DER)).decode()


def _a_receipt(request: SignedRequest) -> str:
    """A receipt the gateway signed for an earlier write: the gateway's own key, presented as IMR's."""
    earlier = SignedRequest(request.test_pki, request.client, body=json.dumps(case_payload()).encode())
    accepted = earlier.send(earlier.genuine())
    assert accepted.status_code == 201, accepted.text
    return accepted.headers["receipt"]


def _embedded_jwk(request: SignedRequest) -> str:
    """CVE-2018-0114's shape: the token carries the key that verifies it."""
    key = attackers_key()
    return request.with_header({"jwk": public_jwk(key.public_key())}, key=key)


SIGNATURE_TRICKS: dict[str, tuple[Build, str]] = {
    # nothing to check
    "no Request-Signature header": (lambda r: None, "signature-missing"),
    "an empty Request-Signature": (lambda r: "", "signature-missing"),
    # not a JWS
    "one word": (lambda r: "forged", "signature-malformed"),
    "three parts of garbage": (lambda r: "not.a.jws", "signature-malformed"),
    "four parts": (lambda r: r.genuine() + ".AAAA", "signature-malformed"),
    "JWS JSON serialization": (lambda r: json.dumps({"payload": _parts(r.genuine())[1], "signatures": []}), "signature-malformed"),
    "claims that are a JSON string": (lambda r: r.unsigned({"alg": "ES256"}, claims="iss=imr"), "signature-malformed"),
    "jti of 7 characters": (lambda r: r.genuine(jti="1234567"), "signature-malformed"),
    "jti of 129 characters": (lambda r: r.genuine(jti="j" * 129), "signature-malformed"),
    "jti a number": (lambda r: r.genuine(jti=12345678901), "signature-malformed"),
    "no jti": (lambda r: r.genuine(jti=REMOVED), "signature-malformed"),
    # anything but ES256 with a registry key
    "alg none": (lambda r: r.unsigned({"alg": "none"}, signature=b""), "signature-algorithm-refused"),
    "alg None": (lambda r: r.unsigned({"alg": "None"}, signature=b""), "signature-algorithm-refused"),
    "alg NONE": (lambda r: r.unsigned({"alg": "NONE"}, signature=b""), "signature-algorithm-refused"),
    "no alg": (lambda r: r.unsigned({}), "signature-algorithm-refused"),
    "HS256 keyed with the public key's PEM": (lambda r: r.hs256(r.public_pem()), "signature-algorithm-refused"),
    "HS256 keyed with the public JWK": (
        lambda r: r.hs256(json.dumps(public_jwk(r.private_key().public_key())).encode()), "signature-algorithm-refused"),
    "RS256 by the attacker's RSA key": (
        lambda r: r.with_header({"alg": "RS256"}, key=attackers_rsa_key()), "signature-algorithm-refused"),
    "ES384": (lambda r: r.unsigned({"alg": "ES384"}), "signature-algorithm-refused"),
    "PS256": (lambda r: r.unsigned({"alg": "PS256"}), "signature-algorithm-refused"),
    "EdDSA": (lambda r: r.unsigned({"alg": "EdDSA"}), "signature-algorithm-refused"),
    "es256 in lower case": (lambda r: r.unsigned({"alg": "es256"}), "signature-algorithm-refused"),
    # keys named by the request rather than the registry
    "jwk: the attacker's key embedded, and signed with it": (
        _embedded_jwk, "signature-algorithm-refused"),
    "jku: the attacker's key set": (
        lambda r: r.with_header({"jku": "https://attacker.example/jwks.json"}, key=attackers_key()), "signature-algorithm-refused"),
    "x5u: the attacker's certificate URL": (
        lambda r: r.with_header({"x5u": "https://attacker.example/imr.pem"}, key=attackers_key()), "signature-algorithm-refused"),
    "x5c: the attacker's certificate embedded": (
        lambda r: r.with_header({"x5c": [_attackers_certificate()]}, key=attackers_key()), "signature-algorithm-refused"),
    "x5t": (lambda r: r.with_header({"x5t": b64url(b"\x00" * 20)}), "signature-algorithm-refused"),
    "x5t#S256": (lambda r: r.with_header({"x5t#S256": b64url(b"\x00" * 32)}), "signature-algorithm-refused"),
    "crit, with the genuine key": (lambda r: r.with_header({"crit": ["exp"], "exp": 0}), "signature-algorithm-refused"),
    "crit empty, with the genuine key": (lambda r: r.with_header({"crit": []}), "signature-algorithm-refused"),
    # which key
    "an unknown kid": (lambda r: r.with_header({"kid": "no-such-key"}, key=attackers_key()), "signature-key-unknown"),
    "no kid": (lambda r: r.with_header({"kid": REMOVED}), "signature-algorithm-refused"),  # the header is exactly alg, kid, typ
    "kid null": (lambda r: r.with_header({"kid": None}), "signature-key-unknown"),
    "kid naming a key file": (lambda r: r.with_header({"kid": "../pki/imr-signing.key"}), "signature-key-unknown"),
    "Al Omrane's key, iss imr": (lambda r: r.genuine(key_of="al-omrane"), "signature-key-not-yours"),
    "Al Omrane's key, iss al-omrane": (lambda r: r.genuine(key_of="al-omrane", iss="al-omrane"), "signature-key-not-yours"),
    "the auditor's key": (lambda r: r.genuine(key_of="auditor"), "signature-key-not-yours"),
    "a receipt: the gateway's own key": (_a_receipt, "signature-algorithm-refused"),  # its typ is a receipt's
    # the signature itself
    "IMR's kid, signed by the attacker": (lambda r: r.with_header({}, key=attackers_key()), "signature-invalid"),
    "IMR's kid, no signature bytes": (lambda r: r.unsigned({"alg": "ES256", "typ": REQUEST_TYPE}, signature=b""), "signature-invalid"),
    "another request's signature grafted on": (_grafted, "signature-invalid"),
    "claims edited after signing": (_claims_edited_after_signing, "signature-invalid"),
    "a DER-encoded ECDSA signature": (_der_signature, "signature-invalid"),
    # what the claims bind
    "aud another gateway": (lambda r: r.genuine(aud="another-gateway"), "signature-request-mismatch"),
    "aud a list holding the gateway": (lambda r: r.genuine(aud=["imr-alomrane-gateway"]), "signature-request-mismatch"),
    "no aud": (lambda r: r.genuine(aud=REMOVED), "signature-request-mismatch"),
    "iss another institution": (lambda r: r.genuine(iss="al-omrane"), "signature-request-mismatch"),
    "no iss": (lambda r: r.genuine(iss=REMOVED), "signature-request-mismatch"),
    "htm GET: a signature made for a read": (lambda r: r.genuine(htm="GET"), "signature-request-mismatch"),
    "htm DELETE": (lambda r: r.genuine(htm="DELETE"), "signature-request-mismatch"),
    "htu another case's messages": (lambda r: r.genuine(htu="/v1/cases/other/messages"), "signature-request-mismatch"),
    "htu with a query the request does not have": (lambda r: r.genuine(htu="/v1/cases?x=1"), "signature-request-mismatch"),
    "htu an absolute URL": (lambda r: r.genuine(htu="https://testserver/v1/cases"), "signature-request-mismatch"),
    "htu with a trailing slash": (lambda r: r.genuine(htu="/v1/cases/"), "signature-request-mismatch"),
    "htu percent-encoded otherwise": (lambda r: r.genuine(htu="/v1/%63ases"), "signature-request-mismatch"),
    "hdr on a write without Content-Disposition": (
        lambda r: r.genuine(hdr={"content-disposition": content_digest(b"attachment; filename=x.pdf")}), "signature-request-mismatch"),
    # which bytes
    "dig of another body": (lambda r: r.genuine(dig=content_digest(json.dumps(case_payload()).encode())), "signature-digest-mismatch"),
    "dig of the body with a trailing space": (lambda r: r.genuine(dig=content_digest(r.body + b" ")), "signature-digest-mismatch"),
    "dig of the empty body": (lambda r: r.genuine(dig=content_digest(b"")), "signature-digest-mismatch"),
    "dig as sha-512": (lambda r: r.genuine(dig="sha-512=:" + base64.b64encode(b"\x00" * 64).decode() + ":"), "signature-digest-malformed"),
    "dig the raw hash, not a digest field": (lambda r: r.genuine(dig=content_digest(r.body)[9:-1]), "signature-digest-malformed"),
    "no dig": (lambda r: r.genuine(dig=REMOVED), "signature-digest-malformed"),
    # when
    "iat an hour old": (lambda r: r.genuine(iat=int(time.time()) - 3600), "signature-stale"),
    "iat just outside the window": (lambda r: r.genuine(iat=int(time.time()) - 302), "signature-stale"),
    "iat an hour ahead": (lambda r: r.genuine(iat=int(time.time()) + 3600), "signature-stale"),
    "iat just outside the window ahead": (lambda r: r.genuine(iat=int(time.time()) + 302), "signature-stale"),
    "iat in 2100": (lambda r: r.genuine(iat=4_102_444_800), "signature-stale"),
    "iat a string": (lambda r: r.genuine(iat=str(int(time.time()))), "signature-malformed"),
    "iat with a fraction": (lambda r: r.genuine(iat=time.time()), "signature-malformed"),
    "iat true": (lambda r: r.genuine(iat=True), "signature-malformed"),
    "no iat": (lambda r: r.genuine(iat=REMOVED), "signature-malformed"),
}


@pytest.mark.parametrize("trick", SIGNATURE_TRICKS)
def test_each_signature_trick_is_refused_with_its_own_type(refusals, signed, trick):
    build, slug = SIGNATURE_TRICKS[trick]
    token = build(signed)
    refusals.arranged()
    refusals.check(signed.send(token), 401, slug)


def test_the_honest_request_the_tricks_start_from_is_accepted(signed):
    """Without this, every trick above could be refused for a reason of the test's own making."""
    assert signed.send(signed.genuine()).status_code == 201


# --- replays -------------------------------------------------------------------------------------


def _accepted(request: SignedRequest, token: str) -> str:
    assert request.send(token).status_code == 201
    return token


def _same_jti_under_a_new_signature(request: SignedRequest) -> str:
    """A fresh signature over another body, reusing an accepted request's jti."""
    _accepted(request, request.genuine(jti="replayed-jti-0001"))
    request.body = json.dumps(case_payload()).encode()
    return request.genuine(jti="replayed-jti-0001")


REPLAYS: dict[str, Build] = {
    "the same token again": lambda r: _accepted(r, r.genuine()),
    "the same jti under a new signature": _same_jti_under_a_new_signature,
}


@pytest.mark.parametrize("replay", REPLAYS)
def test_a_signed_request_is_accepted_once(refusals, signed, replay):
    token = REPLAYS[replay](signed)
    refusals.arranged()
    refusals.check(signed.send(token), 401, "signature-replayed")


def test_a_refused_request_cannot_be_replayed_once_it_would_pass(refusals, test_pki, client_for, imr, omrane):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    reply = SignedRequest(test_pki, client_for("al-omrane", sign=False), signer_name="al-omrane",
                          target=f"/v1/cases/{case_id}/messages", body=json.dumps(message("final_reply", outcome="favourable")).encode())
    token = reply.genuine()
    assert reply.send(token).status_code == 409  # a final reply before any acknowledgement
    assert omrane.post(f"/v1/cases/{case_id}/messages", json=message("acknowledgement")).status_code == 201
    refusals.arranged()
    refusals.check(reply.send(token), 401, "signature-replayed")


# --- uploads: the name's header is signed too ----------------------------------------------------


def _signed_then_renamed(request: SignedRequest) -> str:
    token = request.genuine()
    request.signed_headers = {"Content-Disposition": "attachment; filename*=UTF-8''autre%20nom.pdf"}
    return token


UPLOAD_TRICKS: dict[str, tuple[Build, str]] = {
    "the name changed after signing": (_signed_then_renamed, "signature-request-mismatch"),
    "no hdr claim": (lambda r: r.genuine(hdr=REMOVED), "signature-request-mismatch"),
    "hdr signing one more header": (
        lambda r: r.genuine(hdr={**r.claims()["hdr"], "content-type": content_digest(b"application/pdf")}), "signature-request-mismatch"),
    "hdr the digest of the name, not of the header": (
        lambda r: r.genuine(hdr={"content-disposition": content_digest(b"contrat.pdf")}), "signature-request-mismatch"),
    "hdr naming the header in capitals": (
        lambda r: r.genuine(hdr={"Content-Disposition": r.claims()["hdr"]["content-disposition"]}), "signature-request-mismatch"),
    "dig not the declared Content-Digest": (
        lambda r: r.genuine(dig=content_digest(b"%PDF-1.4 another document")), "signature-digest-mismatch"),
}


@pytest.mark.parametrize("trick", UPLOAD_TRICKS)
def test_each_upload_signature_trick_is_refused(refusals, test_pki, client_for, imr, trick):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    upload = upload_request(test_pki, client_for("imr", sign=False), case_id)
    build, slug = UPLOAD_TRICKS[trick]
    token = build(upload)
    refusals.arranged()
    refusals.check(upload.send(token), 401, slug)


def test_the_honest_upload_the_tricks_start_from_is_accepted(test_pki, client_for, imr):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    upload = upload_request(test_pki, client_for("imr", sign=False), case_id)
    assert upload.send(upload.genuine()).status_code == 201


def test_reads_ignore_signatures_whatever_they_hold(signed, imr):
    """A read changes nothing, so it carries no signature to check: junk in the header must neither
    break it nor be mistaken for a refused write."""
    for junk in ("not.a.jws", signed.unsigned({"alg": "none"}, signature=b""), signed.genuine(key_of="al-omrane")):
        assert imr.get("/v1/cases", headers={"Request-Signature": junk}).status_code == 200

