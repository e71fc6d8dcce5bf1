"""Checks of the stored ledger against itself and against what was published.

`check` (the start-up self-check over the last entries, `gateway ledger check` over all of them):
every entry hashes to its stored leaf, every complete subtree the entries make is the stored node,
every checkpoint in range is signed by the gateway's key and states the root those nodes give, and
the latest checkpoint's root is reproduced. It reads in batches with short transactions and keeps
only the tree's right edge in memory, so a whole ledger costs memory in O(log n).

`restore_guard`: a database whose ledger is shorter than, or differs at the size of, the last
checkpoint published (gateway.ledger.published) was restored from an older backup; writing on
it would fork the history that clients and witnesses hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, NoteError, NoteVerifier, open_checkpoint
from imr_alomrane_gateway_client.ledger.entry import Entry
from gateway.ledger.published import Published
from gateway.ledger.store import DatabaseNodes, Ledger, entry_from_row
from gateway.storage.engine import Database
from gateway.storage.models import LedgerCheckpoint, LedgerEntry


_ENTRIES = LedgerEntry.__table__  # rows read without the ORM: a whole ledger goes through here
Edge = list[tuple[merkle.NodeId, bytes]]  # the tree's compact range (right edge), left to right


class LedgerMismatch(Exception):
    """The stored ledger does not hold up; the message names the entry (index), node or checkpoint."""


@dataclass(frozen=True)
class Checked:
    size: int
    start: int  # the first entry index checked

    def line(self) -> str:
        return f"OK: ledger entries {self.start} to {self.size - 1} match their leaves, nodes and checkpoints; tree size {self.size}"


def check(database: Database, verifier: NoteVerifier, last: int | None = None, batch: int = 1000) -> Checked:
    """Check the `last` entries (all of them if None) up to the latest checkpoint, the stored nodes
    of the tree's edge before them taken as they are."""
    with database.session(write=False) as session:
        size = Ledger.size(session)
        last_entry = session.execute(select(func.max(LedgerEntry.seq))).scalar() or 0
        start = 0 if last is None else max(0, size - last)
        edge_ids = merkle.compact_range_ids(start)
        found = DatabaseNodes(session).find(edge_ids)
    if last_entry != size:
        raise LedgerMismatch(f"the ledger holds {last_entry} entries but its latest checkpoint is of size {size}")
    missing = [node for node in edge_ids if node not in found]
    if missing:
        raise LedgerMismatch(f"ledger node {_name(missing[0])} is missing")
    edge = [(node, found[node]) for node in edge_ids]
    position = start
    while position < size:
        end = min(size, position + batch)
        with database.session(write=False) as session:
            rows = [(entry_from_row(row), row.leaf_hash) for row in session.execute(
                select(_ENTRIES).where(_ENTRIES.c.seq > position, _ENTRIES.c.seq <= end).order_by(_ENTRIES.c.seq)
            )]
            notes = dict(session.execute(select(LedgerCheckpoint.size, LedgerCheckpoint.note).where(LedgerCheckpoint.size > position, LedgerCheckpoint.size <= end)).all())
            stored = DatabaseNodes(session).find([node for index in range(position, end) for node in _created_ids(index)])
        for entry, stored_leaf in rows:
            if entry.seq - 1 != position:
                raise LedgerMismatch(f"ledger entry {position} is missing")
            edge = _check_entry(entry, stored_leaf, edge, stored)
            position += 1
            if position in notes:
                _check_checkpoint(_open(notes[position], position, verifier), edge)
        if position < end:
            raise LedgerMismatch(f"ledger entry {position} is missing")
    return Checked(size, start)


def _check_entry(entry: Entry, stored_leaf: str, edge: Edge, stored: dict[merkle.NodeId, bytes]) -> Edge:
    """The entry's leaf and the subtrees it completes, against what is stored; the new right edge."""
    index = entry.seq - 1
    leaf = entry.leaf_hash()
    if leaf.hex() != stored_leaf:
        raise LedgerMismatch(f"ledger entry {index} was changed: it no longer hashes to its stored leaf hash")
    created = merkle.append(index, leaf, dict(edge))
    for node, value in created:
        if stored.get(node) != value:
            what = "is missing" if node not in stored else "differs from the hash of its entries"
            if node.level == 0:
                raise LedgerMismatch(f"ledger entry {index}: its leaf node {what}")
            raise LedgerMismatch(f"ledger node {_name(node)} {what}")
    return [*edge[:len(edge) - (len(created) - 1)], created[-1]]  # each parent created took its left sibling's place


def _created_ids(index: int) -> list[merkle.NodeId]:
    """The nodes appending leaf `index` creates: the leaf and each parent it completes."""
    ids, level, position = [merkle.NodeId(0, index)], 0, index
    while position & 1:
        level, position = level + 1, position >> 1
        ids.append(merkle.NodeId(level, position))
    return ids


def _open(note: str, size: int, verifier: NoteVerifier) -> Checkpoint:
    try:
        checkpoint = open_checkpoint(note, verifier)
    except NoteError as error:
        raise LedgerMismatch(f"ledger checkpoint {size}: {error}") from None
    if checkpoint.size != size:
        raise LedgerMismatch(f"ledger checkpoint {size} states the size {checkpoint.size}")
    return checkpoint


def _check_checkpoint(checkpoint: Checkpoint, edge: Edge) -> None:
    """Its root against the right edge just recomputed from the entries (and the stored edge they extend)."""
    if merkle.fold([value for _, value in edge]) != checkpoint.root_hash:
        raise LedgerMismatch(
            f"ledger checkpoint {checkpoint.size}: the stored tree does not have the root it states "
            f"(entry {checkpoint.size - 1} or an earlier one, or a node, was changed)"
        )


def _stored_root(session, size: int) -> bytes | None:
    try:
        return merkle.root(size, DatabaseNodes(session))
    except KeyError:
        return None


def _name(node: merkle.NodeId) -> str:
    first = node.index << node.level
    return f"(level {node.level}, index {node.index}) over entries {first} to {first + (1 << node.level) - 1}"


def restore_guard(database: Database, published: Published) -> str | None:
    """Why writing on this database would fork the published history, or None."""
    with database.session(write=False) as session:
        size = Ledger.size(session)
        root = _stored_root(session, published.size) if size >= published.size else None
    if size < published.size:
        return (f"the database's ledger has {size} entries, behind the checkpoint of size {published.size} this gateway "
                "published: it was restored from an older backup; writes are refused (see README, The restore guard and recovery)")
    if root != published.root_hash:
        return (f"the database's ledger (size {size}) differs at size {published.size} from the checkpoint of that size "
                "this gateway published: a forked history; writes are refused (see README, The restore guard and recovery)")
    return None
