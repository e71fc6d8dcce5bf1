"""The offline verifier's streamed pass: its fast reading of the gateway's own layout gives the bytes
Entry.canonical gives, for every kind of entry; every leaf is recomputed whatever the sample, the
checkpoints that matter are always checked and the others by a reproducible sample (or all); and
memory stays flat."""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.cli import main
from imr_alomrane_gateway_client.vocabulary import LedgerKind
from gateway.ledger import verify
from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, Checkpoint, NoteSigner, NoteVerifier, add_signature, cosign, sign_note
from imr_alomrane_gateway_client.ledger.entry import Entry
from imr_alomrane_gateway_client.ledger.merkle import CompactRange, MemoryTree, leaf_hash
from gateway.ledger.verify import VerificationFailed, verify_export
from imr_alomrane_gateway_client.signers import Ed25519Key
from gateway.services.ledger import checkpoint_line, entry_line

ORIGIN = "test.example/ledger"
SIGNER = NoteSigner(ORIGIN, Ed25519Key(Ed25519PrivateKey.generate()))
WITNESS_KEY = Ed25519PrivateKey.generate()
WITNESS = NoteVerifier("auditor.example/w1", WITNESS_KEY.public_key(), COSIGNATURE_V1)
DIGEST = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


def entry(seq: int, **changes) -> Entry:
    kinds = list(LedgerKind)
    plain = Entry(seq=seq, at=f"2026-11-24T07:36:{seq % 60:02d}.123456Z", kind=kinds[seq % len(kinds)], detail="final_reply",
                  sender="imr", recipient="al-omrane", case=f"case-{seq // 9}", resource=f"/v1/cases/case-{seq // 9}/messages/{seq}",
                  payload_digest=DIGEST, signature_digest=DIGEST, sender_unit="imr-oriental", recipient_unit="al-omrane-oriental",
                  region="oriental", due="2026-12-24T07:36:25.123456Z", refers=None)
    return dataclasses.replace(plain, **changes)


def odd_entries(start: int) -> list[Entry]:
    """The values the fast path must leave to `json` (escapes, non-ASCII), a version-1 entry, and nulls."""
    registry = json.dumps({"changes": [{"change": "key_added", "kid": "k\\1"}], "version": 2}, sort_keys=True, separators=(",", ":"))
    return [
        entry(start, kind=LedgerKind.REGISTRY_CHANGED, detail=registry),
        entry(start + 1, detail="réponse — نعم"),
        entry(start + 2, v=1, sender_unit=None, recipient_unit=None, region=None, due=None, refers=None),
        entry(start + 3, detail=None, due=None, region=None, refers="/v1/cases/c"),
        entry(start + 4, detail="tab\there", resource="/v1/cases/\x7f"),
    ]


def export(entries: list[Entry], cosigned: frozenset[int] = frozenset(), forged: frozenset[int] = frozenset(),
           entry_record=entry_line) -> list[bytes]:
    """The export the gateway would write for these entries: each followed by its signed checkpoint."""
    tree, lines = CompactRange(), [json.dumps({"type": "header", "origin": ORIGIN, "note_key": SIGNER.verifier.key_string,
                                               "from": 0, "size": len(entries)}).encode() + b"\n"]
    for one in entries:
        tree.append(one.leaf_hash())
        root = bytes(32) if tree.size in forged else tree.root()
        note = sign_note(Checkpoint(ORIGIN, tree.size, root).body(), SIGNER)
        if tree.size in cosigned:
            note = add_signature(note, cosign(note, WITNESS.name, WITNESS_KEY))
        lines += [entry_record(one).encode(), checkpoint_line(tree.size, note).encode()]
    return lines


def ledger(size: int) -> list[Entry]:
    return [entry(seq) for seq in range(1, size + 1)]


def old_layout(one: Entry) -> str:
    """An entry record as exports were written before the export carried canonical entries."""
    return json.dumps({"type": "entry", "index": one.seq - 1, "entry": one.as_dict()}) + "\n"


def test_the_fast_reading_gives_the_canonical_bytes_of_every_kind_of_entry():
    entries = [*ledger(len(LedgerKind)), *odd_entries(len(LedgerKind) + 1)]
    assert {one.kind for one in entries} == set(LedgerKind)
    for one in entries:
        line = entry_line(one)
        assert one.canonical().decode() in line and json.loads(line) == json.loads(old_layout(one))  # the same JSON
        relaid = verify._relaid_leaf(old_layout(one).encode(), one.seq - 1)
        assert relaid == (one.leaf_hash() if "\\" not in old_layout(one) else None), one  # an escape: left to json
    for lines in (export(entries), export(entries, entry_record=old_layout)):
        verdict = verify_export(lines, SIGNER.verifier, progress=None)
        assert verdict.entries == len(entries) and verdict.checked == len(entries) and verdict.root == _memory_tree_root(entries)


@pytest.mark.parametrize("layout", [dict(sort_keys=True), dict(ensure_ascii=False), dict(separators=(",", ":")), dict(indent=None)])
def test_an_export_laid_out_otherwise_verifies_the_same(layout):
    """Read through `json` rather than the fast path: the same leaves, the same root."""
    lines = export([*ledger(30), *odd_entries(31)])
    relaid = [lines[0], *(json.dumps(json.loads(line), **layout).encode() + b"\n" for line in lines[1:])]
    assert verify_export(relaid, SIGNER.verifier, progress=None).root == verify_export(lines, SIGNER.verifier, progress=None).root
    assert verify_export(lines, SIGNER.verifier, progress=None).root == _memory_tree_root([*ledger(30), *odd_entries(31)])


def _memory_tree_root(entries: list[Entry]) -> bytes:
    tree = MemoryTree()
    for one in entries:
        tree.append_leaf_hash(leaf_hash(one.canonical()))
    return tree.root()


def test_the_sample_is_reproducible_from_its_seed_and_says_which_were_checked():
    lines = export(ledger(400))
    first = verify_export(lines, SIGNER.verifier, progress=None, sample=20, seed=7)
    assert first.checked == 21 and len(first.sampled) == 20 and first.sampled == sorted(first.sampled)  # and the latest
    assert verify_export(lines, SIGNER.verifier, progress=None, sample=20, seed=7).sampled == first.sampled
    assert verify_export(lines, SIGNER.verifier, progress=None, sample=20, seed=8).sampled != first.sampled
    assert "20 drawn at random with --sample 20 --seed 7: sizes " + ", ".join(map(str, first.sampled)) in first.line()
    assert "\n" not in first.line()
    every = verify_export(lines, SIGNER.verifier, progress=None, every_checkpoint=True)
    assert every.checked == every.checkpoints == 400 and "400 checkpoints verified" in every.line()


def test_a_sample_spreads_over_the_whole_export():
    drawn = verify_export(export(ledger(2000)), SIGNER.verifier, progress=None, sample=200, seed=1).sampled
    quarters = [sum(1 for size in drawn if q * 500 < size <= (q + 1) * 500) for q in range(4)]
    assert all(30 <= count <= 70 for count in quarters), quarters


def test_a_changed_entry_is_caught_whatever_the_sample():
    entries = ledger(300)
    lines = export(entries)
    lines[1 + 2 * 100] = entry_line(dataclasses.replace(entries[100], detail="closure")).encode()
    with pytest.raises(VerificationFailed, match=r"^entry 299 \(or an earlier one\) was changed"):
        verify_export(lines, SIGNER.verifier, progress=None, sample=0)  # only the latest is checked: it covers every entry
    with pytest.raises(VerificationFailed, match=r"^entry 100 \(or an earlier one\) was changed"):
        verify_export(lines, SIGNER.verifier, progress=None, every_checkpoint=True)


def test_a_forged_checkpoint_outside_the_sample_is_what_every_checkpoint_finds():
    """What sampling does not prove: a bad checkpoint it did not draw goes unseen (the entries still all check)."""
    lines = export(ledger(300), forged=frozenset({150}))
    assert verify_export(lines, SIGNER.verifier, progress=None, sample=0).entries == 300
    with pytest.raises(VerificationFailed, match=r"^entry 149 \(or an earlier one\) was changed"):
        verify_export(lines, SIGNER.verifier, progress=None, every_checkpoint=True)
    with pytest.raises(VerificationFailed, match=r"^entry 149 "):
        verify_export(lines, SIGNER.verifier, progress=None, sample=300)


def test_every_cosigned_checkpoint_is_checked():
    lines = export(ledger(300), cosigned=frozenset({100, 250}))
    verdict = verify_export(lines, SIGNER.verifier, [WITNESS], progress=None, sample=0)
    assert verdict.checked == 3 and verdict.cosignatures == {WITNESS.name: 2}
    record = json.loads(lines[2 * 100])
    assert record["size"] == 100
    tampered = list(lines)
    tampered[2 * 100] = checkpoint_line(100, record["note"].replace(record["note"].split("\n")[2], "A" * 43 + "=")).encode()
    with pytest.raises(VerificationFailed, match="^checkpoint 100: "):
        verify_export(tampered, SIGNER.verifier, progress=None, sample=0)
    bad_cosignature = record["note"][:-7] + ("BBBB==" if record["note"].endswith("AAAA==\n") else "AAAA==") + "\n"
    tampered[2 * 100] = checkpoint_line(100, bad_cosignature).encode()
    with pytest.raises(VerificationFailed, match="^checkpoint 100: .*cosignature"):
        verify_export(tampered, SIGNER.verifier, [WITNESS], progress=None, sample=0)


def test_since_is_compared_with_the_root_at_its_size():
    lines = export(ledger(300))
    seen = json.loads(lines[2 * 120])["note"]
    assert verify_export(lines, SIGNER.verifier, since=seen, progress=None, sample=0).entries == 300
    other = sign_note(Checkpoint(ORIGIN, 120, bytes(32)).body(), SIGNER)
    with pytest.raises(VerificationFailed, match="forked or rewritten"):
        verify_export(lines, SIGNER.verifier, since=other, progress=None, sample=0)
    with pytest.raises(VerificationFailed, match="truncated"):
        verify_export(lines[:2 * 100 + 1], SIGNER.verifier, since=seen, progress=None, sample=0)


def test_entries_no_checkpoint_covers_and_misplaced_checkpoints_are_refused():
    lines = export(ledger(50))
    with pytest.raises(VerificationFailed, match="entries 49 to 49 are covered by no signed checkpoint"):
        verify_export(lines[:-1], SIGNER.verifier, progress=None)
    moved = [*lines[:-4], lines[-4], lines[-2], lines[-3], lines[-1]]  # checkpoint 49 after entry 49
    with pytest.raises(VerificationFailed, match="checkpoint 49 is out of place"):
        verify_export(moved, SIGNER.verifier, progress=None)
    with pytest.raises(VerificationFailed, match="line 5 is not JSON"):
        verify_export([*lines[:4], b"{not json\n", *lines[4:]], SIGNER.verifier, progress=None)


def test_memory_stays_flat(tmp_path: Path):
    """A streamed pass holds the tree's edge and the sample, not the export: the peak does not grow with it."""
    peaks = []
    for size in (500, 4000):
        path = tmp_path / f"{size}.jsonl"
        path.write_bytes(b"".join(export(ledger(size))))
        tracemalloc.start()
        with path.open("rb") as lines:
            verify_export(lines, SIGNER.verifier, progress=None, sample=10, seed=1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] * 1.5 + 64 * 1024, peaks


def test_the_command_line_takes_the_sample_and_its_seed(tmp_path: Path, monkeypatch, capsys):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b"".join(export(ledger(100))))
    key = SIGNER.verifier.key_string
    assert main(["ledger", "verify", str(path), "--key", key, "--sample", "5", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 100 entries and 6 of 100 checkpoints verified") and "--sample 5 --seed 3: sizes" in out
    monkeypatch.setenv("GATEWAY_LEDGER_VERIFY_SAMPLE", "2")
    assert main(["ledger", "verify", str(path), "--key", key]) == 0
    assert capsys.readouterr().out.startswith("OK: 100 entries and 3 of 100 checkpoints verified")
    assert main(["ledger", "verify", str(path), "--key", key, "--every-checkpoint"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 100 entries and 100 checkpoints verified") and out.rstrip().endswith(" s")
