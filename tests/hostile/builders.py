"""What the hostile catalogue's attackers hold, built once here: request signatures (genuine, and
every forgery), certificates an attacker could present, gateways configured otherwise than the
default (proxy mode, another registry), a case with something in it to attack, and one gateway
per test module."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from gateway import samples
from gateway.app import create_app
from gateway.config import Settings
from imr_alomrane_gateway_client.contract.documents import attachment_header
from gateway.security import pki
from imr_alomrane_gateway_client.signers import load_private_key
from gateway.security.registry import Registry
from imr_alomrane_gateway_client.signing import (
    REQUEST_TYPE,
    SIGNATURE_HEADER,
    Signer,
    content_digest,
    public_jwk,
    request_claims,
    thumbprint,
)
from gateway.security.tls import TLS_EXTENSION
from tests.api.test_documents import upload
from tests.conftest import settings_for, sql_runner
from tests.factories import case_payload, message
from tests.signing.test_request_signatures import b64url, forged

AUDIENCE = "imr-alomrane-gateway"
REMOVED = object()  # a claim or header value meaning "leave this one out"


# --- request signatures --------------------------------------------------------------------------


def _without_removed(mapping: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if value is not REMOVED}


@dataclass
class SignedRequest:
    """One write and the tokens that could come with it: the genuine signature of `signer_name`
    and every way of getting it wrong. `send` puts the token on an otherwise honest request."""

    test_pki: Any
    client: TestClient  # presents `signer_name`'s certificate and signs nothing by itself
    signer_name: str = "imr"
    method: str = "POST"
    target: str = "/v1/cases"
    body: bytes = field(default_factory=lambda: json.dumps(case_payload(), ensure_ascii=False).encode())
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    signed_headers: dict[str, str] = field(default_factory=dict)  # Content-Disposition, for an upload

    def private_key(self, name: str | None = None) -> ec.EllipticCurvePrivateKey:
        return load_private_key(self.test_pki.files(name or self.signer_name).signing_key)

    def kid(self, name: str | None = None) -> str:
        return thumbprint(public_jwk(self.private_key(name).public_key()))

    def claims(self, **changes: Any) -> dict[str, Any]:
        """The claim set binding this request; `changes` override claims (REMOVED drops one)."""
        good = request_claims(self.signer_name, AUDIENCE, self.method, self.target, self.body, headers=self.signed_headers or None)
        return _without_removed({**good, **changes})

    def genuine(self, *, key_of: str | None = None, **changes: Any) -> str:
        """ES256 by `key_of`'s registered key (the signer's own by default), as the SDK signs."""
        signer = Signer.from_private_key(self.private_key(key_of))
        return signer.sign(self.claims(**changes), REQUEST_TYPE)

    def with_header(self, header: dict[str, Any], key: Any = None) -> str:
        """A real signature (by `key`, the signer's own by default) under a protected header of the
        attacker's choosing; `header` overrides the usual alg, kid and typ (REMOVED drops one)."""
        protected = _without_removed({"alg": "ES256", "kid": self.kid(), "typ": REQUEST_TYPE, **header})
        return compact(protected, self.claims(), key or self.private_key())

    def hs256(self, secret: bytes) -> str:
        """The algorithm-confusion forgery: an HMAC keyed with something public."""
        signing_input = f"{b64url(json.dumps({'alg': 'HS256', 'kid': self.kid()}).encode())}.{b64url(json.dumps(self.claims()).encode())}"
        return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"

    def unsigned(self, header: dict[str, Any], claims: dict | None = None, signature: bytes = b"x" * 64) -> str:
        """Any header and claims, with a signature nobody made."""
        return forged(_without_removed({"kid": self.kid(), **header}), claims or self.claims(), signature)

    def public_pem(self) -> bytes:
        return self.private_key().public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def send(self, token: str | None):
        signature = {SIGNATURE_HEADER: token} if token is not None else {}
        return self.client.request(self.method, self.target, content=self.body, headers={**self.headers, **self.signed_headers, **signature})


def compact(header: dict[str, Any], claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    """A compact JWS signed with `key` (ES256 for an EC key, RS256 for RSA) whatever `header` says:
    no JOSE library in between to object to the header an attacker chose."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signing_input.decode()}.{b64url(signature)}"


def attackers_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def attackers_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def upload_request(test_pki, client: TestClient, case_id: str, name: str = "contrat.pdf", data: bytes | None = None) -> SignedRequest:
    """A document upload as an institution signs it: the digest declared, the name's header signed."""
    data = samples.pdf(["Attestation de paiement"]) if data is None else data
    disposition = attachment_header(name)
    return SignedRequest(
        test_pki, client, target=f"/v1/cases/{case_id}/documents", body=data,
        headers={"Content-Type": "application/pdf", "Content-Digest": content_digest(data)},
        signed_headers={"Content-Disposition": disposition},
    )


# --- certificates --------------------------------------------------------------------------------


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def as_ca(certified: pki.CertifiedKey) -> pki.CertificateAuthority:
    """Use any certificate and key to issue certificates: what a rogue issuer does."""
    return pki.CertificateAuthority(certified.certificate, certified.key)


def hand_made(subject: x509.Name, issuer: x509.Name, signing_key: ec.EllipticCurvePrivateKey | None = None, *,
              ca: bool = False) -> pki.CertificateAuthority:
    """A certificate for a new key, naming whatever `issuer` it likes and signed by `signing_key`
    (its own key: self-signed, when none is given). Returned with its key, ready to issue more."""
    key = attackers_key()
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    return pki.CertificateAuthority(builder.sign(signing_key or key, hashes.SHA256()), key)


@dataclass
class Issuers:
    """Everyone who could issue a certificate claiming to be `name`: the client CA itself (outside
    the validity period), and those who must not (a foreign CA with the client CA's name, a rogue
    intermediate under it, another institution using its own certificate as a CA)."""

    test_pki: Any
    name: str = "imr"

    def __post_init__(self) -> None:
        self.genuine = pki.load_certificate(self.test_pki.files(self.name).cert)
        self.organization = self.genuine.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        self.client_ca = pki.CertificateAuthority.load(self.test_pki.dev.directory)
        ca_name = self.client_ca.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        self.foreign = pki.CertificateAuthority.generate(ca_name)
        # an intermediate CA naming the client CA as its issuer, signed by the foreign CA's key
        intermediate = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gateway intermediate CA")])
        self.intermediate = hand_made(intermediate, self.client_ca.certificate.subject, self.foreign.key, ca=True)
        neighbour = self.test_pki.files("al-omrane")
        self.neighbour = as_ca(pki.CertifiedKey(pki.load_certificate(neighbour.cert), load_private_key(neighbour.key)))

    def leaf(self, issuer: pki.CertificateAuthority, **validity: datetime) -> x509.Certificate:
        """A client certificate with exactly the subject of `name`'s registered one."""
        return issuer.client_certificate(self.name, organization=self.organization, **validity).certificate


def _days(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


# Certificate chains (leaf first) that claim to be IMR and are not its registered certificate. The
# TLS handshake refuses each of them; these are what the app sees if one ever got past it.
IMPOSTORS: dict[str, Callable[[Issuers], list[x509.Certificate]]] = {
    "foreign CA, same subject": lambda i: [i.leaf(i.foreign)],
    "expired, from the client CA": lambda i: [i.leaf(i.client_ca, not_after=_days(-1))],
    "not yet valid, from the client CA": lambda i: [i.leaf(i.client_ca, not_before=_days(1))],
    "rogue intermediate": lambda i: [i.leaf(i.intermediate), i.intermediate.certificate, i.client_ca.certificate],
    "issued by another institution's certificate": lambda i: [i.leaf(i.neighbour), i.neighbour.certificate],
    "self-signed, same subject": lambda i: [hand_made(i.genuine.subject, i.genuine.subject).certificate],
    "the gateway's server certificate": lambda i: [pki.load_certificate(i.test_pki.dev.server_cert)],
    "the client CA's own certificate": lambda i: [i.client_ca.certificate],
    "impostor first, genuine certificate behind it": lambda i: [i.leaf(i.foreign), i.genuine],
}


def rfc9440(certificate: x509.Certificate) -> str:
    """The `Client-Cert` header a TLS-terminating proxy forwards (RFC 9440: `:base64 DER:`)."""
    return ":" + base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode() + ":"


def presenting(app, chain: list[x509.Certificate | str]) -> TestClient:
    """A client whose TLS layer reports `chain` (leaf first; certificates or PEM text) in the ASGI
    `tls` extension, as gateway.security.tls does for a verified connection."""
    extension = {"client_cert_chain": [c if isinstance(c, str) else pem(c) for c in chain], "tls_version": 0x0304}

    async def with_chain(scope, receive, send):
        if scope["type"] == "http":
            scope["extensions"] = {**scope.get("extensions", {}), TLS_EXTENSION: extension}
        await app(scope, receive, send)

    return TestClient(with_chain)


# --- gateways configured otherwise ---------------------------------------------------------------


@contextmanager
def gateway(settings, *, registry: Registry | None = None, directory: Path | None = None, client=("testclient", 50000),
            **overrides: Any) -> Iterator[Any]:
    """A gateway started with `settings` (changed by `overrides`, or reading `registry`, written in
    `directory`). Yields (app, TestClient from `client`'s address)."""
    if registry is not None:
        path = directory / f"registry-{uuid.uuid4()}.json"
        registry.write(path)
        overrides["registry_file"] = path
    app = create_app(settings.model_copy(update=overrides))
    with TestClient(app, client=client) as plain:
        yield app, plain


# One gateway and one database per test module, shadowing tests/conftest.py's per-test ones where
# a module imports these: a refusal writes nothing (each test checks it), so the next test may use
# the same gateway, and the catalogue stays fast. Each test still takes its own baseline.


@pytest.fixture(scope="module")
def database_url(template, tmp_path_factory) -> Iterator[str]:
    url = template.clone(tmp_path_factory.mktemp("hostile-db"))
    yield url
    template.drop(url)


@pytest.fixture(scope="module")
def settings(database_url, test_pki, registry_file, tmp_path_factory) -> Settings:
    """In a directory of the module's own: the restore guard's record, beside the blobs, is the module's too."""
    return settings_for(database_url, test_pki, registry_file, tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def app(settings):
    with gateway(settings) as (application, _):
        yield application


@pytest.fixture(scope="module")
def engine_sql(database_url):
    with sql_runner(database_url) as run:
        yield run


def registry_where(registry_file, changes: dict[str, Callable | None]) -> Registry:
    """The test registry with some institutions changed (id → a function of the entry) or left out (id → None)."""
    kept = []
    for institution in Registry.load(registry_file).institutions:
        if institution.id not in changes:
            kept.append(institution)
        elif changes[institution.id] is not None:
            kept.append(changes[institution.id](institution))
    return Registry(institutions=kept)


# --- something to attack -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A case IMR opened against Al Omrane, with IMR's document and Al Omrane's note, so that every
    kind of resource exists: ids of the case, a message, a document, a receipt and an inbox event
    for each party."""

    id: str
    message_id: str
    document_id: str
    receipt_id: str
    omrane_event_id: str
    imr_event_id: str

    @property
    def path(self) -> str:
        return f"/v1/cases/{self.id}"


def a_case_with_everything(imr: TestClient, omrane: TestClient) -> Case:
    opened = imr.post("/v1/cases", json=case_payload())
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    document = upload(imr, case_id, samples.pdf(["Contrat de vente"]))
    assert document.status_code == 201, document.text
    note = omrane.post(f"/v1/cases/{case_id}/messages", json=message("note", "Dossier en cours d'examen."))
    assert note.status_code == 201, note.text
    return Case(
        id=case_id,
        message_id=note.json()["id"],
        document_id=document.json()["id"],
        receipt_id=opened.headers["receipt-location"].rsplit("/", 1)[1],
        omrane_event_id=omrane.get("/v1/inbox").json()["items"][0]["id"],
        imr_event_id=imr.get("/v1/inbox").json()["items"][0]["id"],
    )
