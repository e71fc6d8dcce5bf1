"""Signed notes, checkpoints and cosignatures (C2SP), with the Go reference implementation's
known answer: golang.org/x/mod/sumdb/note (the PeterNeumann example in its documentation)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from imr_alomrane_gateway_client.ledger.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    add_signature,
    cosign,
    open_checkpoint,
    open_note,
    sign_note,
    verify_cosignature,
)
from imr_alomrane_gateway_client.signers import Ed25519Key

VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIGNED = TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def go_signer() -> NoteSigner:
    seed = base64.b64decode(SKEY.split("+", 4)[4])
    assert seed[0] == 1
    return NoteSigner("PeterNeumann", Ed25519Key(Ed25519PrivateKey.from_private_bytes(seed[1:])))


def test_the_go_reference_note_byte_for_byte():
    signer = go_signer()
    assert signer.verifier.key_string == VKEY
    assert sign_note(TEXT, signer) == SIGNED
    assert open_note(SIGNED, NoteVerifier.from_key_string(VKEY)) == TEXT


def test_forged_or_changed_notes_are_refused():
    verifier = NoteVerifier.from_key_string(VKEY)
    with pytest.raises(NoteError):
        open_note(SIGNED.replace("cryptography", "cryptographie"), verifier)
    other = NoteSigner("PeterNeumann", Ed25519Key(Ed25519PrivateKey.generate()))
    with pytest.raises(NoteError):  # same name, another key: its id does not match
        open_note(sign_note(TEXT, other), verifier)
    forged = SIGNED.replace("x08go/ZJ", "x08go/ZK")
    with pytest.raises(NoteError):
        open_note(forged, verifier)
    for broken in ("", TEXT, TEXT + "\n", "no newline\n\n— x AAAA\n"):
        with pytest.raises(NoteError):
            open_note(broken, verifier)
    with pytest.raises(NoteError):
        NoteVerifier.from_key_string(VKEY.replace("c74f20a3", "c74f20a4"))


def test_checkpoints_round_trip_and_parse_strictly():
    log = NoteSigner("imr-alomrane.example/ledger", Ed25519Key(Ed25519PrivateKey.generate()))
    checkpoint = Checkpoint("imr-alomrane.example/ledger", 42, bytes(range(32)))
    text = sign_note(checkpoint.body(), log)
    assert open_checkpoint(text, log.verifier, "imr-alomrane.example/ledger") == checkpoint
    with pytest.raises(NoteError):
        open_checkpoint(text, log.verifier, "another-log")
    for body in ("origin\n042\nAAAA\n", "origin\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n", "origin\n1\nAAAA\n", "origin\n1\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(body)


def test_cosignatures_verify_and_a_changed_timestamp_fails():
    log = NoteSigner("gateway.example/ledger", Ed25519Key(Ed25519PrivateKey.generate()))
    text = sign_note(Checkpoint("gateway.example/ledger", 7, bytes(32)).body(), log)
    witness_key = Ed25519PrivateKey.generate()
    witness = NoteVerifier("auditor.example/w1", witness_key.public_key(), COSIGNATURE_V1)
    cosigned = add_signature(text, cosign(text, "auditor.example/w1", witness_key, timestamp=1_795_500_000))
    assert verify_cosignature(cosigned, witness) == 1_795_500_000
    assert open_checkpoint(cosigned, log.verifier).size == 7  # the log's signature still opens it
    assert NoteVerifier.from_key_string(witness.key_string) == witness
    line = cosigned.rstrip("\n").rsplit("\n", 1)[1]
    raw = bytearray(base64.b64decode(line.rsplit(" ", 1)[1]))
    raw[11] ^= 1  # inside the 8-byte timestamp
    tampered = cosigned.replace(line, line.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode())
    with pytest.raises(NoteError):
        verify_cosignature(tampered, witness)
    with pytest.raises(NoteError):  # a note signature (type 0x01) is not a cosignature (0x04)
        verify_cosignature(cosigned, NoteVerifier("gateway.example/ledger", log.key.public_key, COSIGNATURE_V1))
