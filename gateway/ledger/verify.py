"""Offline verification of a ledger export: no database, no network, only the keys you trust.

An export is JSON Lines: a header, then every entry in order, each followed by the checkpoint the
gateway signed for the size it reached (see gateway.services.ledger.export_lines). The verifier
recomputes every leaf and the whole tree, checks every checkpoint's signature against the trusted
key and its root against the recomputed tree, checks witnesses' cosignatures against their keys,
and, given a checkpoint saved earlier, that this export extends it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from imr_alomrane_gateway_client.ledger.checkpoint import NoteError, NoteVerifier, open_checkpoint, verify_cosignature
from imr_alomrane_gateway_client.ledger.entry import Entry
from imr_alomrane_gateway_client.ledger.merkle import MemoryTree


class VerificationFailed(Exception):
    """The export does not hold up; the message names the first bad entry or checkpoint."""


@dataclass
class Verdict:
    entries: int = 0
    checkpoints: int = 0
    cosignatures: dict[str, int] = field(default_factory=dict)
    root: bytes = b""

    def line(self) -> str:
        witnessed = ", ".join(f"{count} cosignatures by {name}" for name, count in self.cosignatures.items()) or "no cosignatures checked"
        return (f"OK: {self.entries} entries and {self.checkpoints} checkpoints verified; tree size {self.entries}, "
                f"root {self.root.hex()}; {witnessed}")


class Progress:
    """A progress bar on stderr for long runs (only when stderr is a terminal)."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, every: int = 5000) -> None:
        self.total, self.stream, self.every = total, stream, every
        self.enabled = total >= every and stream.isatty()

    def update(self, done: int) -> None:
        if self.enabled and (done % self.every == 0 or done == self.total):
            filled = int(40 * done / self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (40 - filled)}] {done}/{self.total} entries")
            if done == self.total:
                self.stream.write("\n")
            self.stream.flush()


def verify_export(lines: Iterable[str], log: NoteVerifier, witnesses: list[NoteVerifier] = (), since: str | None = None,
                  progress: type[Progress] | None = Progress) -> Verdict:
    tree, verdict = MemoryTree(), Verdict()
    records = (json.loads(line) for line in lines if line.strip())
    try:
        header = next(records)
    except (StopIteration, json.JSONDecodeError) as exc:
        raise VerificationFailed("the export is empty or not JSON Lines") from exc
    if header.get("type") != "header" or header.get("from", 0) != 0:
        raise VerificationFailed("the export must start with its header and cover the ledger from index 0")
    origin = header.get("origin")
    bar = progress(int(header.get("size", 0))) if progress else None
    for number, record in enumerate(records, start=2):
        kind = record.get("type")
        if kind == "entry":
            _append(tree, record)
            if bar:
                bar.update(tree.size)
        elif kind == "checkpoint":
            _check_checkpoint(tree, record, log, origin, witnesses, verdict)
        else:
            raise VerificationFailed(f"line {number}: unknown record type {kind!r}")
    if since is not None:
        _check_extends(tree, since, log, origin)
    verdict.entries, verdict.root = tree.size, tree.root()
    return verdict


def _append(tree: MemoryTree, record: dict) -> None:
    index = record.get("index")
    if index != tree.size:
        raise VerificationFailed(f"entry {tree.size} is missing or out of order: found index {index!r} where {tree.size} was due")
    try:
        entry = Entry.from_dict(record["entry"])
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationFailed(f"entry {index} is malformed: {exc}") from exc
    if entry.seq != index + 1:
        raise VerificationFailed(f"entry {index} claims sequence number {entry.seq}")
    tree.append_leaf_hash(entry.leaf_hash())


def _check_checkpoint(tree: MemoryTree, record: dict, log: NoteVerifier, origin: str | None, witnesses, verdict: Verdict) -> None:
    try:
        checkpoint = open_checkpoint(record["note"], log, origin)
    except (KeyError, NoteError) as exc:
        raise VerificationFailed(f"checkpoint {record.get('size')!r}: {exc}") from exc
    if checkpoint.size > tree.size:
        raise VerificationFailed(
            f"entry {tree.size} is missing: checkpoint {checkpoint.size} covers it, the export holds {tree.size} entries before it"
        )
    if tree.root(checkpoint.size) != checkpoint.root_hash:
        raise VerificationFailed(
            f"entry {checkpoint.size - 1} (or an earlier one) was changed: the tree of size {checkpoint.size} "
            "does not have the root its signed checkpoint states"
        )
    for witness in witnesses:
        try:
            verify_cosignature(record["note"], witness)
        except NoteError as exc:
            if "no cosignature" in str(exc):
                continue
            raise VerificationFailed(f"checkpoint {checkpoint.size}: {exc}") from exc
        verdict.cosignatures[witness.name] = verdict.cosignatures.get(witness.name, 0) + 1
    verdict.checkpoints += 1


def _check_extends(tree: MemoryTree, since: str, log: NoteVerifier, origin: str | None) -> None:
    try:
        earlier = open_checkpoint(since, log, origin)
    except NoteError as exc:
        raise VerificationFailed(f"the checkpoint given with --since: {exc}") from exc
    if earlier.size > tree.size:
        raise VerificationFailed(f"the export stops at size {tree.size}, before the checkpoint of size {earlier.size} seen earlier: truncated")
    if tree.root(earlier.size) != earlier.root_hash:
        raise VerificationFailed(f"the export is not consistent with the checkpoint of size {earlier.size} seen earlier: a forked or rewritten history")
