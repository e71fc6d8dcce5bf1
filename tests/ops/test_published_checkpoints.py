"""The restore guard's record: appends from several processes never interleave within a line, the
latest checkpoint is the largest size near the end whatever the order, and a torn or foreign line
is skipped without costing the next one."""

from __future__ import annotations

import json
import multiprocessing

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, NoteSigner, sign_note
from gateway.ledger.published import PublishedCheckpoints
from imr_alomrane_gateway_client.signers import Ed25519Key

SIGNER = NoteSigner("test/ledger", Ed25519Key(Ed25519PrivateKey.generate()))
OTHER = NoteSigner("test/ledger", Ed25519Key(Ed25519PrivateKey.generate()))


def note(size: int, signer: NoteSigner = SIGNER) -> str:
    return sign_note(Checkpoint("test/ledger", size, bytes([size % 256]) * 32).body(), signer)


def _append(path, sizes) -> None:
    record = PublishedCheckpoints(path)
    for size in sizes:
        record.record(size, note(size))
    record.close()


def test_processes_appending_together_write_whole_lines(tmp_path):
    path = tmp_path / "published-checkpoints"
    context = multiprocessing.get_context("fork")  # the children inherit SIGNER
    children = [context.Process(target=_append, args=(path, range(first, 1200, 3))) for first in (1, 2, 3)]
    for child in children:
        child.start()
    for child in children:
        child.join()
        assert child.exitcode == 0
    lines = path.read_text().splitlines()
    assert sorted(json.loads(line)["size"] for line in lines) == list(range(1, 1200))
    assert PublishedCheckpoints(path).latest(SIGNER.verifier).size == 1199


def test_the_largest_size_wins_and_torn_or_foreign_lines_are_skipped(tmp_path, caplog):
    path = tmp_path / "published-checkpoints"
    record = PublishedCheckpoints(path)
    for size in (5, 7, 6):  # two processes committed 6 and 7; 7's line came first
        record.record(size, note(size))
    record.record(9, note(9, OTHER))  # not signed by this gateway's key
    record.close()
    with open(path, "ab") as torn:
        torn.write(b'{"size":8,"note":"test/led')  # a power cut in the middle of a line
    assert PublishedCheckpoints(path).latest(SIGNER.verifier).size == 7
    record = PublishedCheckpoints(path)
    record.record(8, note(8))  # on a line of its own
    record.close()
    latest = PublishedCheckpoints(path).latest(SIGNER.verifier)
    assert (latest.size, latest.root_hash, latest.note) == (8, bytes([8]) * 32, note(8))
    assert sum("is not a checkpoint signed by this gateway" in message for message in caplog.messages) >= 2
    assert PublishedCheckpoints(tmp_path / "none").latest(SIGNER.verifier) is None
