"""Offline verification of a ledger export: no database, no network, only the keys you trust.

An export is JSON Lines: a header, then every entry in order, each followed by the checkpoint the
gateway signed for the size it reached (see gateway.services.ledger.export_lines). The verifier
streams it once, holding the tree's right edge only (O(log n) memory): it recomputes every leaf
and the tree, and checks the signature and the root of the checkpoints that matter against the
tree's root at their size, taken as the stream passes it: the latest (which covers every entry),
every cosigned one (and the witnesses' cosignatures), and a seeded random sample of the others
(all of them with `every_checkpoint`). Given a checkpoint saved earlier, it checks that this
export extends it.

Parsing is the cost at scale, so the lines the gateway writes are read without `json`:
- an entry record's `entry` is the entry's canonical encoding itself, hashed as it stands. No
  parse is needed for soundness: bytes that hash into a root the gateway signed are the canonical
  encoding of an entry it logged (so the line is that JSON), and any others fail at the latest
  checkpoint. Its index is read off the text to name a missing or misplaced entry (a wrong `seq`
  is a changed entry).
- an entry record of the layout exports had before (json.dumps defaults, members in Entry.as_dict
  order) is matched by one regular expression, and its canonical bytes assembled from the JSON
  texts of its values when each is its own canonical encoding (printable ASCII without quote or
  backslash, an integer, null);
- a checkpoint record whose note holds no quote, no escape but newlines and no control character
  is read off the text (such a line is that JSON).
Anything else goes through `json` and Entry.canonical: the same leaves either way (tested on every
entry kind, escapes and non-ASCII included, in tests/ledger/test_verify_at_scale.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TextIO

from imr_alomrane_gateway_client.ledger.checkpoint import NoteError, NoteVerifier, open_checkpoint, verify_cosignature
from imr_alomrane_gateway_client.ledger.entry import FIELDS, Entry
from imr_alomrane_gateway_client.ledger.merkle import EMPTY_ROOT, CompactRange, leaf_hash

DEFAULT_SAMPLE = 1000  # GATEWAY_LEDGER_VERIFY_SAMPLE's default: a bad checkpoint among 1% of them is found 99.996% of the time
ENTRY_LINE_START, ENTRY_LINE_MEMBER = '{"type": "entry", "index": ', ', "entry": '  # then the canonical entry, "}" and a newline
# Every version's canonical encoding starts with `at`, its first key in code-point order, and ends
# with `v`, its last; compact, where a JSON tool's re-encoding has spaces (and goes through json).
_CANONICAL_START, _CANONICAL_ENDS = b'{"at":"', tuple(b',"v":%d}}\n' % version for version in FIELDS)
_ENTRY_START, _ENTRY_MEMBER = ENTRY_LINE_START.encode(), ENTRY_LINE_MEMBER.encode()
_CHECKPOINT_LINE_START, _CHECKPOINT_LINE_NOTE = b'{"type": "checkpoint", "size": ', b', "note": "'
_SIGNATURE_LINE = "\n\u2014 "  # a note's signature lines each follow a newline: more than one means cosigned
_SIGNATURE_LINE_IN_JSON = json.dumps(_SIGNATURE_LINE, ensure_ascii=False)[1:-1].encode()
_NUMBER = r"(0|[1-9][0-9]*)"
_PLAIN = r'("[ !#-\[\]-~]*"|null)'  # printable ASCII but `"` and `\`: the JSON text is the canonical encoding


class VerificationFailed(Exception):
    """The export does not hold up; the message names the first bad entry or checkpoint."""


class _EntryLayout:
    """An entry line as exports were written before (json.dumps defaults, members in Entry.as_dict
    order), and the canonical encoding of the values it captures (keys sorted, no whitespace)."""

    def __init__(self, version: int) -> None:
        fields = FIELDS[version]
        values = "".join(f', "{name}": {_NUMBER if name == "seq" else _PLAIN}' for name in fields)
        self.match = re.compile((r'\{"type": "entry", "index": ' + _NUMBER + r', "entry": \{"v": ' + str(version) + values + r"\}\}\n?").encode()).fullmatch
        ordered = sorted((*fields, "v"))
        self.canonical = ("{" + ",".join(f'"{name}":' + (str(version) if name == "v" else "%s") for name in ordered) + "}").encode()
        self.values = itemgetter(*(1 + fields.index(name) for name in ordered if name != "v"))  # group 1 is the index


_LAYOUTS = (_EntryLayout(2), _EntryLayout(1))


@dataclass
class Verdict:
    entries: int = 0
    checkpoints: int = 0
    cosignatures: dict[str, int] = field(default_factory=dict)
    root: bytes = b""
    checked: int = 0  # checkpoints whose signature and root were checked
    sampled: list[int] = field(default_factory=list)  # the sizes of those drawn at random
    sample: int = 0
    seed: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        witnessed = ", ".join(f"{count} cosignatures by {name}" for name, count in self.cosignatures.items()) or "no cosignatures checked"
        if self.checked == self.checkpoints:
            which = f"{self.checkpoints} checkpoints verified"
        else:
            which = (f"{self.checked} of {self.checkpoints} checkpoints verified (the latest, the cosigned ones and "
                     f"{len(self.sampled)} drawn at random with --sample {self.sample} --seed {self.seed}: sizes "
                     f"{', '.join(map(str, self.sampled))})")
        return (f"OK: {self.entries} entries and {which}; tree size {self.entries}, root {self.root.hex()}; {witnessed}; "
                f"{self.seconds:.2f} s")


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


class _Reservoir:
    """A uniform random sample of `size` items of a stream of unknown length (Vitter's algorithm L,
    Li 1994): which items are taken depends on the seed and their position only, and between two
    taken items the stream costs one comparison each."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size, self.rng, self.items = size, rng, []
        self.next = 0 if size else -1  # the position of the next item taken (-1: none)
        self._log_weight = 0.0  # log W, kept as a logarithm so that 1 - W stays exact when W nears 1

    def take(self, position: int, item) -> None:
        """Called for the item at `position` when it is `self.next`."""
        if len(self.items) < self.size:
            self.items.append(item)
            if len(self.items) == self.size:
                self._step(position)
            else:
                self.next = position + 1
            return
        self.items[self.rng.randrange(self.size)] = item
        self._step(position)

    def _step(self, position: int) -> None:
        self._log_weight += math.log(self._uniform()) / self.size
        self.next = position + 1 + math.floor(math.log(self._uniform()) / math.log(-math.expm1(self._log_weight)))

    def _uniform(self) -> float:
        return self.rng.random() or 0.5  # in (0, 1): log() defined and negative


@dataclass
class _Pending:
    """A checkpoint to check, with the tree's root at its size (taken as the stream passed it)."""

    size: int
    root: bytes
    line: bytes


def verify_export(lines: Iterable[bytes], log: NoteVerifier, witnesses: list[NoteVerifier] = (), since: str | None = None,
                  progress: type[Progress] | None = Progress, *, sample: int = DEFAULT_SAMPLE, seed: int | None = None,
                  every_checkpoint: bool = False) -> Verdict:
    """Check `sample` checkpoints drawn with `seed` (a random one if None, given in the verdict) besides
    those that matter, or all of them with `every_checkpoint`."""
    started = time.perf_counter()
    numbered = enumerate(lines, start=1)
    header = _header(numbered)
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    stream = _Stream(log, header.get("origin"), witnesses, since, _Reservoir(0 if every_checkpoint else sample, random.Random(seed)),
                     every_checkpoint, Verdict(sample=sample, seed=seed))
    bar = progress(int(header.get("size", 0))) if progress else None
    tick = bar.update if bar is not None and bar.enabled else None
    tree, sha256, since_size = stream.tree, hashlib.sha256, stream.since_size
    start, member, ends, skip, body_skip = _ENTRY_START, _ENTRY_MEMBER + _CANONICAL_START, _CANONICAL_ENDS, len(_ENTRY_START), len(_ENTRY_MEMBER)
    for number, line in numbered:
        if line.startswith(start):
            cut = line.find(member, skip)
            if cut > 0 and line.endswith(ends):
                if line[skip:cut] == b"%d" % tree.size:
                    tree.append(sha256(b"\x00" + line[cut + body_skip:-2]).digest())
                else:
                    tree.append(_entry_leaf(tree.size, _json(line, number)))  # names the fault, or it was JSON laid out otherwise
            else:
                tree.append(_relaid_leaf(line, tree.size) or _entry_leaf(tree.size, _json(line, number)))
        elif stream.other_line(line, number):
            continue
        if tick is not None:
            tick(tree.size)
        if tree.size == since_size:
            stream.since_root = tree.root()
    verdict = stream.finish()
    verdict.seconds = time.perf_counter() - started
    return verdict


class _Stream:
    """What the pass over the export keeps besides the tree: the checkpoints to check, the latest one
    seen, and the tree's root at the size of the checkpoint given with --since."""

    def __init__(self, log: NoteVerifier, origin: str | None, witnesses, since: str | None, reservoir: _Reservoir,
                 every_checkpoint: bool, verdict: Verdict) -> None:
        self.log, self.origin, self.witnesses, self.reservoir, self.every, self.verdict = log, origin, witnesses, reservoir, every_checkpoint, verdict
        self.tree, self.others, self.latest = CompactRange(), 0, None
        self.earlier = _opened_since(since, log, origin)
        self.since_size = self.earlier.size if self.earlier is not None else -1
        self.since_root = EMPTY_ROOT if self.since_size == 0 else None

    def other_line(self, line: bytes, number: int) -> bool:
        """A line that is not an entry in the gateway's own layout; True unless it was an entry."""
        if not line.strip():
            return True
        plain = _plain_checkpoint(line)
        if plain is not None:
            size, cosigned = plain[0], plain[1].count(_SIGNATURE_LINE_IN_JSON) > 1
        else:
            record = _json(line, number)
            kind = record.get("type") if isinstance(record, dict) else None
            if kind == "entry":
                self.tree.append(_entry_leaf(self.tree.size, record))
                return False
            if kind != "checkpoint":
                raise VerificationFailed(f"line {number}: unknown record type {kind!r}")
            size, note = record.get("size"), record.get("note")
            cosigned = isinstance(note, str) and note.count(_SIGNATURE_LINE) > 1
        _in_place(size, self.tree.size)
        self.verdict.checkpoints += 1
        checked_now = self.every or cosigned
        self.latest = (size, line, checked_now)
        if checked_now:
            self._check(_Pending(size, self.tree.root(), line))
        else:
            if self.others == self.reservoir.next:
                self.reservoir.take(self.others, _Pending(size, self.tree.root(), line))
            self.others += 1
        return True

    def finish(self) -> Verdict:
        tree, verdict = self.tree, self.verdict
        verdict.entries, verdict.root = tree.size, tree.root()
        size, line, checked = self.latest or (0, b"", True)
        if tree.size != size:
            raise VerificationFailed(f"entries {size} to {tree.size - 1} are covered by no signed checkpoint: the export was cut or added to")
        drawn = sorted((p for p in self.reservoir.items if p.size != tree.size), key=lambda p: p.size)
        for pending in drawn:
            self._check(pending)
        if not checked:
            self._check(_Pending(size, verdict.root, line))
        verdict.sampled = [p.size for p in drawn]
        earlier = self.earlier
        if earlier is not None:
            if earlier.size > tree.size:
                raise VerificationFailed(f"the export stops at size {tree.size}, before the checkpoint of size {earlier.size} seen earlier: truncated")
            if self.since_root != earlier.root_hash:
                raise VerificationFailed(f"the export is not consistent with the checkpoint of size {earlier.size} seen earlier: "
                                         "a forked or rewritten history")
        return verdict

    def _check(self, pending: _Pending) -> None:
        """The checkpoint's signature, its root against the tree's at its size, and the witnesses' cosignatures."""
        note, verdict = json.loads(pending.line).get("note"), self.verdict
        try:
            if not isinstance(note, str):
                raise NoteError("the record holds no note")
            checkpoint = open_checkpoint(note, self.log, self.origin)
        except NoteError as exc:
            raise VerificationFailed(f"checkpoint {pending.size}: {exc}") from exc
        if checkpoint.size != pending.size:
            raise VerificationFailed(f"checkpoint {pending.size}: its signed note is for size {checkpoint.size}")
        if checkpoint.root_hash != pending.root:
            raise VerificationFailed(
                f"entry {checkpoint.size - 1} (or an earlier one) was changed: the tree of size {checkpoint.size} "
                "does not have the root its signed checkpoint states"
            )
        for witness in self.witnesses:
            try:
                verify_cosignature(note, witness)
            except NoteError as exc:
                if "no cosignature" in str(exc):
                    continue
                raise VerificationFailed(f"checkpoint {checkpoint.size}: {exc}") from exc
            verdict.cosignatures[witness.name] = verdict.cosignatures.get(witness.name, 0) + 1
        verdict.checked += 1


def _header(numbered) -> dict:
    try:
        header = json.loads(next(line for _, line in numbered if line.strip()))
    except (StopIteration, json.JSONDecodeError) as exc:
        raise VerificationFailed("the export is empty or not JSON Lines") from exc
    if not isinstance(header, dict) or header.get("type") != "header" or header.get("from", 0) != 0:
        raise VerificationFailed("the export must start with its header and cover the ledger from index 0")
    return header


def _json(line: bytes, number: int):
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise VerificationFailed(f"line {number} is not JSON") from None


def _opened_since(since: str | None, log: NoteVerifier, origin: str | None):
    if since is None:
        return None
    try:
        return open_checkpoint(since, log, origin)
    except NoteError as exc:
        raise VerificationFailed(f"the checkpoint given with --since: {exc}") from exc


def _entry_leaf(size: int, record: dict) -> bytes:
    """The leaf of an entry record read as JSON (or VerificationFailed naming what is wrong with it)."""
    index = record.get("index")
    if index != size:
        raise VerificationFailed(f"entry {size} is missing or out of order: found index {index!r} where {size} was due")
    try:
        entry = Entry.from_dict(record["entry"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VerificationFailed(f"entry {index} is malformed: {exc}") from exc
    if entry.seq != index + 1:
        raise VerificationFailed(f"entry {index} claims sequence number {entry.seq}")
    return leaf_hash(entry.canonical())


def _relaid_leaf(line: bytes, size: int) -> bytes | None:
    """The leaf of an entry line in the layout exports had before, if its values need no re-encoding."""
    for layout in _LAYOUTS:
        match = layout.match(line)
        if match is not None:
            if int(match[1]) != size or int(match[2]) != size + 1:
                return None  # json names the fault
            return leaf_hash(layout.canonical % layout.values(match.groups()))
    return None


def _plain_checkpoint(line: bytes) -> tuple[int, bytes] | None:
    """The size and the note's JSON text, if the line is a checkpoint record in the gateway's layout
    whose note has no quote and no \\u escape. No escape can make structure, so such a line is that
    record or not JSON at all (a bad escape, a control character), which a JSON reader refuses:
    never another record. Without \\u escapes, a signature line's dash is a literal one."""
    if not (line.startswith(_CHECKPOINT_LINE_START) and line.endswith(b'"}\n')):
        return None
    cut = line.find(_CHECKPOINT_LINE_NOTE, len(_CHECKPOINT_LINE_START))
    size, note = line[len(_CHECKPOINT_LINE_START):cut], line[cut + len(_CHECKPOINT_LINE_NOTE):-3]
    if cut < 0 or not (size.isdigit() and (size[:1] != b"0" or size == b"0")):  # bytes.isdigit: ASCII digits only
        return None
    if b'"' in note or b"\\u" in note:
        return None
    return int(size), note


def _in_place(size, entries: int) -> None:
    """A checkpoint follows the entry that brings the tree to its size."""
    if not isinstance(size, int) or isinstance(size, bool):
        raise VerificationFailed(f"a checkpoint after entry {entries - 1} has no size")
    if size > entries:
        raise VerificationFailed(f"entry {entries} is missing: checkpoint {size} covers it, the export holds {entries} entries before it")
    if size < entries:
        raise VerificationFailed(f"checkpoint {size} is out of place: it follows entry {entries - 1}, not entry {size - 1}")
