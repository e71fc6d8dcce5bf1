"""The committed conformance vectors (conformance/*.json) hold for the gateway's code: each one is
signed, verified or hashed again here and compared, and the generator writes them unchanged."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from conformance.generate import DIRECTORY, GATEWAY_ID, stale_files
from gateway.api.problems import problem_body
from gateway.app import create_app
from gateway.config import Settings
from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier, open_checkpoint, verify_cosignature
from imr_alomrane_gateway_client.ledger.entry import Entry
from gateway.problems import CATALOGUE
from imr_alomrane_gateway_client.signing import (
    CompactJws, SignatureRejected, Signer, content_digest, header_digests, keys_from_jwks, sign_request, verify_request,
    verify_receipt,
)
from tests.ledger.test_merkle import CONSISTENCY, INCLUSION, ROOTS


def vectors(name: str) -> dict:
    return json.loads((DIRECTORY / name).read_text(encoding="utf-8"))


KEYS = vectors("keys.json")
PUBLISHED = keys_from_jwks(KEYS["jwks"])
SIGNATURES = vectors("request-signatures.json")


def private_key(name: str) -> ec.EllipticCurvePrivateKey:
    jwk = KEYS["keys"][name]["private_jwk"]
    value = int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big")
    return ec.derive_private_key(value, ec.SECP256R1())


def test_the_generator_writes_the_committed_vectors_unchanged():
    assert stale_files() == []


def test_the_private_jwks_are_the_published_keys_and_kids_their_thumbprints():
    for name in ("imr-request", "al-omrane-request", "gateway-receipts"):
        key = KEYS["keys"][name]
        signer = Signer.from_private_key(private_key(name))
        assert signer.kid == key["kid"] and PUBLISHED[key["kid"]].jwk == key["public_jwk"]


def check_request(vector: dict, token: str, unit: str | None = None) -> None:
    """verify_request exactly as the gateway runs it on this request, at the time it was signed."""
    disposition = vector.get("headers", {}).get("Content-Disposition")
    headers = {"content-disposition": disposition} if disposition else {}
    verify_request(token, keys=PUBLISHED, unit_id=unit or vector["unit"], audience=GATEWAY_ID, method=vector["method"],
                   target=vector["target"], digest=vector["content_digest"], max_skew_seconds=SIGNATURES["max_skew_seconds"],
                   headers=headers, now=vector["verify_at"])


@pytest.mark.parametrize("vector", SIGNATURES["valid"], ids=lambda vector: vector["name"])
def test_a_valid_request_signature_verifies_and_its_parts_are_what_the_code_makes(vector):
    body = base64.b64decode(vector["body_base64"])
    assert content_digest(body) == vector["content_digest"] == vector["headers"]["Content-Digest"] == vector["claims"]["dig"]
    if "body_utf8" in vector:
        assert vector["body_utf8"].encode() == body
    disposition = vector["headers"].get("Content-Disposition")
    assert vector["claims"].get("hdr", {}) == (header_digests({"content-disposition": disposition}) if disposition else {})
    if disposition:
        assert vector["claims"]["hdr"]["content-disposition"] == vector["content_disposition_digest"]
    parsed = CompactJws.parse(vector["jws"])
    assert (parsed.header, parsed.claims) == (vector["protected_header"], vector["claims"])
    assert parsed.signing_input.decode() == vector["signing_input"] == f"{vector['protected_header_b64url']}.{vector['claims_b64url']}"
    assert vector["headers"]["Request-Signature"] == vector["jws"]
    check_request(vector, vector["jws"])
    claims = {name: vector["claims"][name] for name in ("iat", "jti")}
    fresh = sign_request(Signer.from_private_key(private_key(vector["key"])), vector["unit"], GATEWAY_ID, vector["method"],
                         vector["target"], body, headers={"content-disposition": disposition} if disposition else None,
                         now=claims["iat"], jti=claims["jti"])
    assert fresh != vector["jws"] and fresh.rpartition(".")[0] == vector["signing_input"]  # ES256 is randomized: same input only
    check_request(vector, fresh)


@pytest.mark.parametrize("vector", SIGNATURES["refused"], ids=lambda vector: vector["name"])
def test_a_refused_request_signature_gets_its_problem_type(vector):
    with pytest.raises(SignatureRejected) as refused:
        check_request(vector, vector["jws"])
    assert f"/problems/{refused.value.slug}" == vector["problem"]


def test_each_refused_signature_differs_from_a_valid_one_in_one_thing_only():
    """Each refusal is of its own change: the unit it is sent as, or the token itself."""
    valid = next(vector for vector in SIGNATURES["valid"] if vector["target"] == SIGNATURES["refused"][0]["target"])
    for vector in SIGNATURES["refused"]:
        assert (vector["jws"] == valid["jws"]) == (vector["unit"] != valid["unit"]), vector["name"]


RECEIPTS = vectors("receipts.json")
LOG = NoteVerifier.from_key_string(KEYS["ledger_key"]["note_key"])


@pytest.mark.parametrize("vector", RECEIPTS["receipts"], ids=lambda vector: vector["name"])
def test_a_receipt_verifies_with_the_published_gateway_key_and_proves_its_entry(vector):
    claims = verify_receipt(vector["jws"], PUBLISHED, GATEWAY_ID)
    assert claims == vector["claims"] and CompactJws.parse(vector["jws"]).header == vector["protected_header"]
    request = next(item for item in SIGNATURES["valid"] if item["name"] == vector["request"])
    assert claims["sig_dig"] == content_digest(request["jws"].encode())
    if claims["kind"] == "delivery":
        return
    assert (claims["req_dig"], claims["htm"], claims["htu"], claims["sub"]) == (
        request["content_digest"], request["method"], request["target"], request["unit"])
    ledger = claims["ledger"]
    entry = Entry.from_dict(ledger["entry"])
    assert (entry.payload_digest, entry.signature_digest) == (claims["req_dig"], claims["sig_dig"])
    checkpoint = open_checkpoint(ledger["checkpoint"], LOG, KEYS["ledger_key"]["origin"])
    assert checkpoint.size == ledger["index"] + 1
    merkle.verify_inclusion(entry.leaf_hash(), ledger["index"], checkpoint.size, [base64.b64decode(node) for node in ledger["inclusion"]],
                            checkpoint.root_hash)


@pytest.mark.parametrize("vector", vectors("ledger-entries.json")["entries"], ids=lambda vector: vector["name"])
def test_an_entry_encodes_to_its_canonical_bytes_and_leaf_hash(vector):
    entry = Entry.from_dict(vector["entry"])
    assert entry.canonical() == bytes.fromhex(vector["canonical_hex"]) == vector["canonical_utf8"].encode()
    assert entry.leaf_hash() == bytes.fromhex(vector["leaf_hash_hex"]) == base64.b64decode(vector["leaf_hash_base64"])
    assert entry.canonical().isascii()


def test_the_merkle_vectors_are_transparency_devs_known_answers_and_verify():
    document = vectors("merkle.json")
    assert [root["root_hex"] for root in document["roots"]] == ROOTS
    leaves = [bytes.fromhex(leaf) for leaf in document["leaf_hashes_hex"]]
    assert leaves == [merkle.leaf_hash(bytes.fromhex(data)) for data in document["leaves_hex"]]
    roots = [bytes.fromhex(root["root_hex"]) for root in document["roots"]]
    inclusion = {(item["index"], item["size"]): item["proof_hex"] for item in document["inclusion"]}
    consistency = {(item["first"], item["second"]): item["proof_hex"] for item in document["consistency"]}
    assert all(inclusion[leaf - 1, size] == proof for leaf, size, proof in INCLUSION)
    assert all(consistency[first, second] == proof for first, second, proof in CONSISTENCY)
    for (index, size), proof in inclusion.items():
        merkle.verify_inclusion(leaves[index], index, size, [bytes.fromhex(node) for node in proof], roots[size])
    for (first, second), proof in consistency.items():
        merkle.verify_consistency(first, second, [bytes.fromhex(node) for node in proof], roots[first], roots[second])
    assert len(inclusion) == len(consistency) == 36


def test_checkpoints_are_signed_by_the_log_and_cosigned_by_the_witness():
    document = vectors("checkpoints.json")
    assert document["note_key"] == LOG.key_string == KEYS["keys"]["gateway-checkpoints"]["note_key"]
    for item in document["checkpoints"]:
        checkpoint = open_checkpoint(item["note"], LOG, document["origin"])
        assert (checkpoint.size, checkpoint.root_hash.hex(), checkpoint.body()) == (item["size"], item["root_hex"], item["body"])
    cosigned = document["cosignature"]
    witness = NoteVerifier.from_key_string(cosigned["note_key"])
    assert verify_cosignature(cosigned["cosigned_note"], witness) == cosigned["timestamp"]
    assert open_checkpoint(cosigned["cosigned_note"], LOG).size == cosigned["size"]
    assert cosigned["cosigned_note"].endswith(cosigned["line"])


PROBLEMS = vectors("problems.json")


def test_every_problem_type_has_its_vector():
    assert [item["slug"] for item in PROBLEMS["problems"]] == list(CATALOGUE)


def test_problem_documents_are_what_the_gateway_renders_and_describes():
    client = TestClient(create_app(Settings(_env_file=None)))  # no lifespan: /problems/* needs none
    for item in PROBLEMS["problems"]:
        problem = CATALOGUE[item["slug"]]
        for language, document in item["documents"].items():
            assert problem_body(problem, language, instance=document["instance"], request_id=document["request_id"]) == document
            assert document["title"] == item["description"]["titles"][language]
        assert client.get(item["type"]).json() == item["description"]
