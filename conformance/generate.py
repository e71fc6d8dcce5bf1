"""Write, or check, the conformance vectors: fixed inputs and what the gateway's own code makes of them.

    python -m conformance.generate           # writes conformance/*.json
    python -m conformance.generate --check   # exit status 1, naming each file that is stale

Everything is fixed: the keys are derived from their labels (published test keys, private parts
included), times and ids are constants. ES256 signatures are randomized (ECDSA): a signature already
in the committed files is kept when it still verifies over the same signing input with the same key,
so that generating again changes nothing unless an input or the code's output changed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jose import jws

from gateway.api.problems import MEDIA_TYPE, problem_body
from gateway.config import Settings
from imr_alomrane_gateway_client.contract.common import utc_text
from imr_alomrane_gateway_client.contract.documents import attachment_header
from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, Checkpoint, NoteSigner, NoteVerifier, add_signature, cosign, sign_note
from imr_alomrane_gateway_client.ledger.entry import Entry, timestamp
from gateway.ledger.store import Appended, Ledger
from gateway.problems import CATALOGUE, LANGUAGES
from gateway.samples import pdf
from gateway.security.keys import KeyRing
from imr_alomrane_gateway_client.signers import ES256, Ed25519Key, Es256Key, verify
from imr_alomrane_gateway_client.signing import (
    REQUEST_TYPE, RECEIPT_TYPE, CompactJws, Signer, VerificationKey, content_digest, public_jwk, request_claims,
)
from gateway.services.receipts import ACCEPTANCE, DELIVERY, receipt_claims

DIRECTORY = Path(__file__).resolve().parent
GATEWAY_ID = Settings.model_fields["gateway_id"].default
ORIGIN = f"{GATEWAY_ID}/ledger"
TEST_KEY_WARNING = ("TEST KEYS, published with their private parts so that anyone can check code with them: "
                    "never trust, register or deploy a signature or a key from these files")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")

START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CASE_ID = "3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1"
MESSAGE_ID = "8d1f3c2e-5a47-4b9e-a0c6-71e2f49b3d58"
DOCUMENT_ID = "c7a2e915-0d3b-4f68-9e14-5b8a26d0f7c3"
EVENT_ID = "e41b7d09-3c6a-4e25-b8f1-0a9c57d2e6b4"
REQUEST_ID = "7b1e0c4d9f2a4e36"
WITNESS = "auditor"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"{GATEWAY_ID} conformance test key: {label}".encode()).digest()


@dataclass(frozen=True)
class RecordedEs256Key(Es256Key):
    """Signs as Es256Key does, but gives back the signature on record for the same message when it
    verifies with this key (and records each new one): reproducible files from a randomized algorithm,
    and one signature for a message signed twice."""

    on_record: dict[bytes, list[bytes]] = field(default_factory=dict, compare=False)  # message → signatures (any key's)

    def sign(self, message: bytes) -> bytes:
        recorded = self.on_record.setdefault(message, [])
        for signature in recorded:
            try:
                verify(self.public_key, signature, message)
                return signature
            except InvalidSignature:
                continue
        recorded.append(signature := super().sign(message))
        return signature


@dataclass(frozen=True)
class TestKeys:
    """The published test keys: two institutions' request keys, the gateway's receipt and checkpoint
    keys, and a witness's cosignature key."""

    es256: dict[str, ec.EllipticCurvePrivateKey]  # owner (the gateway, or a unit) → its ES256 key
    signers: dict[str, Signer]  # owner → what signs with that key
    checkpoints: Ed25519PrivateKey
    witness: Ed25519PrivateKey

    @classmethod
    def derived(cls, on_record: dict[bytes, list[bytes]]) -> TestKeys:
        es256 = {owner: ec.derive_private_key(int.from_bytes(_seed(label), "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1())
                 for owner, label in ((GATEWAY_ID, "gateway receipts"), ("imr", "imr request signing"),
                                      ("al-omrane", "al-omrane request signing"))}
        signers = {owner: Signer.of(RecordedEs256Key(key, on_record)) for owner, key in es256.items()}
        return cls(es256, signers, Ed25519PrivateKey.from_private_bytes(_seed("gateway checkpoints")),
                   Ed25519PrivateKey.from_private_bytes(_seed("witness auditor")))

    @property
    def receipts(self) -> Signer:
        return self.signers[GATEWAY_ID]

    @property
    def note_signer(self) -> NoteSigner:
        return NoteSigner(ORIGIN, Ed25519Key(self.checkpoints))

    @property
    def witness_verifier(self) -> NoteVerifier:
        return NoteVerifier(WITNESS, self.witness.public_key(), COSIGNATURE_V1)

    def keyring(self) -> KeyRing:
        """The gateway's key ring with these keys: what it publishes as its JWKS."""
        keys = {signer.kid: VerificationKey(kid=signer.kid, owner=owner, jwk=public_jwk(self.es256[owner].public_key()))
                for owner, signer in self.signers.items()}  # the gateway's first, as the gateway lists them
        own = keys[self.receipts.kid]
        return KeyRing(GATEWAY_ID, self.receipts, keys, Ledger(ORIGIN, self.note_signer), {WITNESS: [self.witness_verifier]}, (own,))


def _ec_entry(keys: TestKeys, owner: str, purpose: str) -> dict[str, Any]:
    private = keys.es256[owner]
    public = public_jwk(private.public_key())
    d = _b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    return {"purpose": purpose, "owner": owner, "alg": ES256, "kid": keys.signers[owner].kid, "public_jwk": public,
            "private_jwk": {**public, "d": d}}


def _ed25519_entry(private: Ed25519PrivateKey, verifier: NoteVerifier, purpose: str, owner: str) -> dict[str, Any]:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    public = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    seed = private.private_bytes_raw()
    return {"purpose": purpose, "owner": owner, "alg": "EdDSA", "note_key_name": verifier.name, "key_id_hex": verifier.key_id.hex(),
            "note_key": verifier.key_string, "public_jwk": public, "private_jwk": {**public, "d": _b64url(seed)}}


def keys_document(keys: TestKeys) -> dict[str, Any]:
    return {
        "warning": TEST_KEY_WARNING,
        "gateway_id": GATEWAY_ID,
        "keys": {
            "imr-request": _ec_entry(keys, "imr", "request signatures of IMR's head office (iss imr)"),
            "al-omrane-request": _ec_entry(keys, "al-omrane", "request signatures of Al Omrane's head office (iss al-omrane)"),
            "gateway-receipts": _ec_entry(keys, GATEWAY_ID, "the gateway's receipts"),
            "gateway-checkpoints": _ed25519_entry(keys.checkpoints, keys.note_signer.verifier,
                                                  "the ledger's checkpoints (C2SP signed note)", GATEWAY_ID),
            "witness-auditor": _ed25519_entry(keys.witness, keys.witness_verifier, "a witness's cosignatures (C2SP tlog-cosignature)",
                                              WITNESS),
        },
        "jwks": keys.keyring().jwks(),
        "ledger_key": {"origin": ORIGIN, "note_key": keys.note_signer.verifier.key_string},
    }


@dataclass(frozen=True)
class Write:
    """A signed write and the ledger entry it makes when accepted."""

    name: str
    about: str
    key: str  # "imr" or "al-omrane": which request key signs it; also the unit (a head office)
    method: str
    target: str
    body: bytes
    media_type: str
    at: datetime
    jti: str
    entry: dict[str, Any]  # what the ledger entry records beyond the request itself
    disposition: str | None = None

    def signed_headers(self) -> dict[str, str]:
        return {"content-disposition": self.disposition} if self.disposition else {}

    def claims(self, **changes: Any) -> dict[str, Any]:
        claims = request_claims(self.key, GATEWAY_ID, self.method, self.target, self.body, headers=self.signed_headers(),
                                now=self.at.timestamp(), jti=self.jti)
        return {**claims, **changes}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": ")).encode()


CASE_BODY = {
    "respondent_id": "al-omrane",
    "reference": "IMR/2026/00042",
    "complainant": {"full_name": "فاطمة الزهراء بنعلي", "cin": "BE123456", "phone": "+212612345678",
                    "address": "حي الأمل، زنقة 12، رقم 4، الدار البيضاء", "preferred_language": "ar"},
    "subject": "delivery_delays",
    "title": "تأخر تسليم شقة بمشروع الأمل – Retard de livraison, projet Al Amal",
    "summary": "اقتنت المشتكية شقة سنة 2019. La plaignante a payé l'intégralité du prix ; la livraison n'a pas eu lieu.",
    "project": {"name": "Al Amal – الأمل", "city": "Casablanca", "region": "casablanca-settat"},
    "requested_action": "Communiquer une date de livraison ferme.",
}
DOCUMENT_NAME = "عقد البيع – contrat.pdf"


def writes() -> list[Write]:
    case = f"/v1/cases/{CASE_ID}"
    imr_side = {"sender": "imr", "sender_unit": "imr", "recipient": "al-omrane", "recipient_unit": "al-omrane"}
    omrane_side = {"sender": "al-omrane", "sender_unit": "al-omrane", "recipient": "imr", "recipient_unit": "imr"}
    common = {"case": CASE_ID, "region": "casablanca-settat", "due": None, "refers": None}
    return [
        Write("open-case", "IMR opens a case (Arabic and French text in the body)", "imr", "POST", "/v1/cases",
              _json(CASE_BODY), "application/json", START, "conformance-open-case-0001",
              {**imr_side, **common, "kind": "case_opened", "detail": "delivery_delays", "resource": case,
               "due": timestamp(START + timedelta(days=60))}),
        Write("acknowledge", "Al Omrane acknowledges the case: the README's worked example body", "al-omrane", "POST",
              f"{case}/messages", b'{"kind": "acknowledgement", "body": "Dossier bien re\xc3\xa7u."}', "application/json",
              START + timedelta(minutes=5), "conformance-acknowledge-0002",
              {**omrane_side, **common, "kind": "message_sent", "detail": "acknowledgement", "resource": f"{case}/messages/{MESSAGE_ID}"}),
        Write("attach-document", "IMR uploads a PDF whose name is Arabic and French: the hdr claim signs its Content-Disposition",
              "imr", "POST", f"{case}/documents", pdf(["Contrat de vente", "Lot 12, projet Al Amal"]), "application/pdf",
              START + timedelta(minutes=9), "conformance-attach-document-0003",
              {**imr_side, **common, "kind": "document_attached", "detail": "pdf", "resource": f"{case}/documents/{DOCUMENT_ID}"},
              disposition=attachment_header(DOCUMENT_NAME)),
        Write("acknowledge-delivery", "Al Omrane acknowledges the case_opened inbox event: an empty body", "al-omrane", "POST",
              f"/v1/inbox/{EVENT_ID}/ack", b"", "application/json", START + timedelta(minutes=12), "conformance-ack-0004",
              {**omrane_side, **common, "kind": "delivery_acknowledged", "detail": "case_opened", "resource": f"/v1/inbox/{EVENT_ID}/ack"}),
    ]


def _segments(token: str) -> dict[str, Any]:
    header, claims, _ = token.split(".")
    parsed = CompactJws.parse(token)
    return {"protected_header": parsed.header, "protected_header_b64url": header, "claims": parsed.claims, "claims_b64url": claims,
            "signing_input": f"{header}.{claims}", "jws": token}


def _verify_at(write: Write) -> int:
    """The gateway's clock when it checks the request: two seconds after it was signed."""
    return int(write.at.timestamp()) + 2


def _request_vector(write: Write, token: str) -> dict[str, Any]:
    headers = {"Content-Type": write.media_type, "Content-Digest": content_digest(write.body)}
    if write.disposition:
        headers["Content-Disposition"] = write.disposition
    text = {"body_utf8": write.body.decode()} if write.media_type == "application/json" else {}
    return {
        "name": write.name, "about": write.about, "key": f"{write.key}-request", "unit": write.key, "method": write.method,
        "target": write.target, "verify_at": _verify_at(write), "body_base64": _b64(write.body), **text,
        "content_digest": content_digest(write.body),
        **({"content_disposition_digest": content_digest(write.disposition.encode("latin-1"))} if write.disposition else {}),
        "headers": {**headers, "Request-Signature": token}, **_segments(token),
    }


def _refused(keys: TestKeys, write: Write) -> Iterator[dict[str, Any]]:
    """Signatures the gateway refuses, each with the problem type it answers, for the request `write`."""
    signer = keys.signers[write.key]
    claims = write.claims()
    raw = hashlib.sha256(write.body).digest()
    assert _b64url(raw) != _b64(raw).rstrip("="), "this body's digest must differ in base64url to show the refusal"

    def header(**members: Any) -> str:
        return _b64url(json.dumps({"alg": ES256, "kid": signer.kid, "typ": REQUEST_TYPE, **members}, separators=(",", ":")).encode())

    valid = signer.sign(claims, REQUEST_TYPE)
    cases = [
        ("dig-base64url", "dig written in base64url: the digest is padded standard base64 (RFC 9530)",
         signer.sign({**claims, "dig": f"sha-256=:{_b64url(raw)}:"}, REQUEST_TYPE), write.key, "signature-digest-malformed"),
        ("iat-fractional", "iat with a fraction of a second: it is an integer number of seconds",
         signer.sign({**claims, "iat": claims["iat"] + 0.5}, REQUEST_TYPE), write.key, "signature-malformed"),
        ("htu-other-path", "htu names another path than the request's",
         signer.sign({**claims, "htu": write.target.removeprefix("/v1")}, REQUEST_TYPE), write.key, "signature-request-mismatch"),
        ("header-jku", "a protected header member besides alg, kid and typ (here jku)",
         jws.sign(claims, signer.key, headers={"kid": signer.kid, "typ": REQUEST_TYPE, "jku": "https://example.org/jwks.json"},
                  algorithm=ES256), write.key, "signature-algorithm-refused"),
        ("typ-jwt", "typ JWT instead of gateway-request+jwt",
         jws.sign(claims, signer.key, headers={"kid": signer.kid}, algorithm=ES256), write.key, "signature-algorithm-refused"),
        ("alg-none", "alg none with an empty signature",
         f"{header(alg='none')}.{valid.split('.')[1]}.", write.key, "signature-algorithm-refused"),
        ("padded-segment", "a segment with base64 padding: segments are base64url without padding",
         valid + "=", write.key, "signature-malformed"),
        ("wrong-key", "signed by another key than the one its kid names",
         Signer(signer.kid, keys.signers["imr" if write.key != "imr" else "al-omrane"].key).sign(claims, REQUEST_TYPE), write.key,
         "signature-invalid"),
        ("key-of-another-unit", "a valid signature by another institution's key, over the TLS connection of this one",
         valid, "imr" if write.key != "imr" else "al-omrane", "signature-key-not-yours"),
    ]
    for name, about, token, unit, problem in cases:
        yield {"name": name, "about": about, "unit": unit, "method": write.method, "target": write.target, "verify_at": _verify_at(write),
               "content_digest": content_digest(write.body), "jws": token, "problem": f"/problems/{problem}"}


@dataclass(frozen=True)
class Exchange:
    """The writes signed and accepted: their requests, ledger entries, checkpoints and receipts."""

    requests: list[tuple[Write, str]]
    appended: list[Appended]
    tree: merkle.MemoryTree
    receipts: list[dict[str, Any]]


def exchange(keys: TestKeys) -> Exchange:
    tree = merkle.MemoryTree()
    requests, appended, receipts = [], [], []
    for index, write in enumerate(writes()):
        token = keys.signers[write.key].sign(write.claims(), REQUEST_TYPE)
        accepted = write.at + timedelta(milliseconds=250 + index)
        entry = Entry(seq=index + 1, at=timestamp(accepted), payload_digest=content_digest(write.body),
                      signature_digest=content_digest(token.encode()), **write.entry)
        tree.append_leaf_hash(entry.leaf_hash())
        note = sign_note(Checkpoint(ORIGIN, tree.size, tree.root()).body(), keys.note_signer)
        appended.append(Appended(index, entry, note, tree.inclusion_proof(index), {}))
        claims = receipt_claims(
            GATEWAY_ID, kind=ACCEPTANCE, receipt_id=f"00000000-0000-4000-8000-00000000000{index + 1}", case_id=CASE_ID,
            resource=entry.resource, signature=token, now=accepted, sub=write.key, htm=write.method, htu=write.target,
            req_dig=content_digest(write.body), ledger=appended[-1].proof_claim(),
        )
        requests.append((write, token))
        receipts.append({"name": f"acceptance-of-{write.name}", "about": f"the acceptance receipt of request {write.name}",
                         "request": write.name, **_segments(keys.receipts.sign(claims, RECEIPT_TYPE))})
    opened, ack = requests[0], requests[-1]
    delivered = ack[0].at + timedelta(milliseconds=250 + len(requests) - 1)
    delivery = receipt_claims(
        GATEWAY_ID, kind=DELIVERY, receipt_id="00000000-0000-4000-8000-000000000099", case_id=CASE_ID, resource=f"/v1/cases/{CASE_ID}",
        signature=ack[1], now=delivered, sub=opened[0].key, recipient=ack[0].key, event=EVENT_ID, delivered_at=utc_text(delivered),
    )
    receipts.append({"name": "delivery-of-case-opened", "about": "the delivery receipt IMR gets when Al Omrane acknowledges the case",
                     "request": ack[0].name, **_segments(keys.receipts.sign(delivery, RECEIPT_TYPE))})
    return Exchange(requests, appended, tree, receipts)


def request_signatures_document(keys: TestKeys, done: Exchange) -> dict[str, Any]:
    acknowledge = next(write for write, _ in done.requests if write.name == "acknowledge")
    return {
        "gateway_id": GATEWAY_ID,
        "max_skew_seconds": Settings.model_fields["signature_max_skew_seconds"].default,
        "valid": [_request_vector(write, token) for write, token in done.requests],
        "refused": list(_refused(keys, acknowledge)),
    }


def receipts_document(done: Exchange) -> dict[str, Any]:
    return {"gateway_id": GATEWAY_ID, "key": "gateway-receipts", "checkpoint_key": "gateway-checkpoints", "receipts": done.receipts}


def _entry_vector(name: str, about: str, entry: Entry) -> dict[str, Any]:
    canonical = entry.canonical()
    leaf = entry.leaf_hash()
    return {"name": name, "about": about, "entry": entry.as_dict(), "canonical_utf8": canonical.decode(),
            "canonical_hex": canonical.hex(), "leaf_hash_hex": leaf.hex(), "leaf_hash_base64": _b64(leaf)}


def _synthetic(**changes: Any) -> Entry:
    base = {"seq": 7, "at": "2026-12-01T10:00:00.000000Z", "kind": "message_sent", "detail": "final_reply", "sender": "al-omrane",
            "sender_unit": "al-omrane-casablanca-settat", "recipient": "imr", "recipient_unit": "imr-casablanca-settat",
            "case": CASE_ID, "resource": f"/v1/cases/{CASE_ID}/messages/{MESSAGE_ID}", "payload_digest": content_digest(b"{}"),
            "signature_digest": content_digest(b""), "region": "casablanca-settat", "due": None, "refers": None}
    return Entry(**{**base, **changes})


def ledger_entries_document(done: Exchange) -> dict[str, Any]:
    registry = {"changes": [{"change": "unit_added", "id": "imr-oriental"}], "crl": None, "registry": "ab" * 32, "version": 2}
    return {"entries": [
        *(_entry_vector(f"entry-{item.index}", f"the entry of request {write.name} (index {item.index})", item.entry)
          for (write, _), item in zip(done.requests, done.appended, strict=True)),
        _entry_vector("version-1", "an entry written before units existed: version 1 has no unit, region, due or refers",
                      Entry(v=1, seq=3, at="2025-03-14T08:00:00.500000Z", kind="message_sent", detail="final_reply", sender="al-omrane",
                            recipient="imr", case=CASE_ID, resource=f"/v1/cases/{CASE_ID}/messages/{MESSAGE_ID}",
                            payload_digest=content_digest(b"{}"), signature_digest=content_digest(b""))),
        _entry_vector("registry-changed", "a registry_changed entry: its detail is compact JSON, so quotes are escaped",
                      _synthetic(kind="registry_changed", detail=json.dumps(registry, sort_keys=True, separators=(",", ":")),
                                 sender=GATEWAY_ID, sender_unit=GATEWAY_ID, recipient=GATEWAY_ID, recipient_unit=GATEWAY_ID,
                                 case="registry", resource="/v1/keys/history", region=None)),
        _entry_vector("french-accents", "synthetic (no entry holds free text today): French accents, escaped as \\u00XX",
                      _synthetic(detail="Réponse reçue à Salé : délai dépassé – « urgent »")),
        _entry_vector("arabic", "synthetic: Arabic letters, escaped as \\u06XX",
                      _synthetic(detail="رد نهائي", region="الدار البيضاء سطات")),
        _entry_vector("escapes", "synthetic: a character outside the BMP (a surrogate pair), controls, DEL, quote, backslash, "
                      "slash (not escaped) and U+2028",
                      _synthetic(detail="\U0001F3E0 tab\there\nline \x01 del\x7f quote\" backslash\\ slash/ sep\u2028")),
    ]}


def merkle_document() -> dict[str, Any]:
    """RFC 6962's eight test leaves, as transparency-dev/merkle publishes them: every root, and every
    inclusion and consistency proof of the trees they make."""
    leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    tree = merkle.MemoryTree()
    for data in leaves:
        tree.append(bytes.fromhex(data))
    return {
        "source": "RFC 6962 test data, as github.com/transparency-dev/merkle publishes it (testonly/constants.go, proof/verify_test.go)",
        "leaves_hex": leaves,
        "leaf_hashes_hex": [merkle.leaf_hash(bytes.fromhex(data)).hex() for data in leaves],
        "roots": [{"size": size, "root_hex": tree.root(size).hex()} for size in range(len(leaves) + 1)],
        "inclusion": [{"index": index, "size": size, "proof_hex": [node.hex() for node in tree.inclusion_proof(index, size)]}
                      for size in range(1, len(leaves) + 1) for index in range(size)],
        "consistency": [{"first": first, "second": second, "proof_hex": [node.hex() for node in tree.consistency_proof(first, second)]}
                        for second in range(1, len(leaves) + 1) for first in range(1, second + 1)],
    }


def checkpoints_document(keys: TestKeys, done: Exchange) -> dict[str, Any]:
    latest = done.appended[-1].checkpoint
    cosigned_at = int((START + timedelta(hours=1)).timestamp())
    cosignature = cosign(latest, WITNESS, keys.witness, cosigned_at)
    body = latest.split("\n\n")[0] + "\n"
    return {
        "origin": ORIGIN, "key": "gateway-checkpoints", "note_key": keys.note_signer.verifier.key_string,
        "checkpoints": [{"size": item.index + 1, "root_hex": done.tree.root(item.index + 1).hex(),
                         "body": item.checkpoint.split("\n\n")[0] + "\n", "note": item.checkpoint} for item in done.appended],
        "cosignature": {
            "witness": "witness-auditor", "note_key": keys.witness_verifier.key_string, "size": done.tree.size, "timestamp": cosigned_at,
            "signed_message": f"cosignature/v1\ntime {cosigned_at}\n{body}", "line": cosignature.line(),
            "cosigned_note": add_signature(latest, cosignature),
        },
    }


def problems_document() -> dict[str, Any]:
    return {
        "media_type": MEDIA_TYPE,
        "languages": list(LANGUAGES),
        "problems": [
            {"slug": slug, "status": problem.status, "type": problem.uri,
             "description": {"type": problem.uri, "status": problem.status, "titles": problem.titles},
             "documents": {language: problem_body(problem, language, instance="/v1/cases", request_id=REQUEST_ID)
                           for language in LANGUAGES}}
            for slug, problem in CATALOGUE.items()
        ],
    }


def documents(on_record: dict[bytes, list[bytes]]) -> dict[str, dict[str, Any]]:
    """Every vector file by name; `on_record` maps ES256 signing inputs to signatures to keep."""
    keys = TestKeys.derived(on_record)
    done = exchange(keys)
    return {
        "keys.json": keys_document(keys),
        "request-signatures.json": request_signatures_document(keys, done),
        "receipts.json": receipts_document(done),
        "ledger-entries.json": ledger_entries_document(done),
        "merkle.json": merkle_document(),
        "checkpoints.json": checkpoints_document(keys, done),
        "problems.json": problems_document(),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def signatures_on_record(directory: Path) -> dict[bytes, list[bytes]]:
    """Every compact JWS's signature in the files of `directory`, by signing input."""
    found: dict[bytes, list[bytes]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and _COMPACT_JWS.match(value):
            signing_input, _, signature = value.rpartition(".")
            found.setdefault(signing_input.encode(), []).append(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))

    for path in sorted(directory.glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found


def stale_files(directory: Path = DIRECTORY) -> list[str]:
    """The vector files that the code and inputs would now write otherwise (or that are missing or extra)."""
    expected = {name: render(document) for name, document in documents(signatures_on_record(directory)).items()}
    present = {path.name for path in directory.glob("*.json")}
    stale = [name for name, text in expected.items() if name not in present or (directory / name).read_text(encoding="utf-8") != text]
    return sorted(stale + sorted(present - expected.keys()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    arguments = parser.parse_args(argv)
    if arguments.check:
        stale = stale_files()
        for name in stale:
            print(f"stale: conformance/{name} (run python -m conformance.generate)", file=sys.stderr)
        return 1 if stale else 0
    for name, document in documents(signatures_on_record(DIRECTORY)).items():
        (DIRECTORY / name).write_text(render(document), encoding="utf-8")
        print(f"wrote conformance/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
