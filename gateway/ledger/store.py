"""The ledger in the database: appended in the caller's transaction, proved from stored nodes.

Appends are serialized by the `ledger` counter row (locked until commit), so sequence numbers
have no gaps and no duplicates across gateway processes, and an aborted transaction gives its
number back. Each append stores the leaf, the complete subtrees it completes, and a checkpoint
signed for the new size, so a receipt can carry an inclusion proof against a signed checkpoint.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, NoteSigner, sign_note
from imr_alomrane_gateway_client.ledger.entry import Entry, timestamp
from gateway.storage import sequences
from gateway.storage.models import LedgerCheckpoint, LedgerEntry, LedgerNode

SEQUENCE = "ledger"
_INSERT_ENTRY, _INSERT_NODES, _INSERT_CHECKPOINT = (insert(model.__table__) for model in (LedgerEntry, LedgerNode, LedgerCheckpoint))


class DatabaseNodes:
    """NodeReader over `ledger_nodes`: one SELECT per batch, whatever its size."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_nodes(self, ids: Sequence[merkle.NodeId]) -> list[bytes]:
        found = self.find(ids)
        return [found[node] for node in ids]

    def find(self, ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        """The stored hashes of those of `ids` that are stored."""
        if not ids:
            return {}
        # One `level = L AND idx IN (…)` term per level: both engines answer it from the primary
        # key (SQLite scans the table for a row-value `(level, idx) IN (…)`).
        by_level: dict[int, list[int]] = {}
        for node in ids:
            by_level.setdefault(node.level, []).append(node.index)
        rows = self.session.execute(
            select(LedgerNode.level, LedgerNode.idx, LedgerNode.hash).where(
                or_(*(and_(LedgerNode.level == level, LedgerNode.idx.in_(indexes)) for level, indexes in by_level.items()))
            )
        ).all()
        return {merkle.NodeId(level, idx): bytes(value) for level, idx, value in rows}


@dataclass(frozen=True, kw_only=True)
class NewEntry:
    """An entry as a write hands it to the ledger, which gives it its position and time."""

    kind: str
    detail: str | None
    sender: str
    sender_unit: str
    recipient: str
    recipient_unit: str
    case: str
    resource: str
    payload_digest: str
    signature_digest: str
    region: str | None = None
    due: str | None = None
    refers: str | None = None


@dataclass(frozen=True)
class Appended:
    index: int
    entry: Entry
    checkpoint: str  # signed note for size index + 1
    inclusion: list[bytes]
    edge: dict[merkle.NodeId, bytes]  # the compact range of the tree of size index + 1

    def proof_claim(self) -> dict[str, object]:
        """A receipt's `ledger` claim: the entry, its index, the checkpoint of size index + 1 and the
        inclusion proof (base64 hashes, leaf to root) that ties them."""
        return {"index": self.index, "entry": self.entry.as_dict(), "checkpoint": self.checkpoint, "inclusion": b64(self.inclusion)}


class Ledger:
    """The gateway's log: its origin line and checkpoint key, and the edge of the tree as this
    process last committed it (the border nodes the next append needs, so that it reads none).
    `publish(size, note)` is told of each committed checkpoint (the restore guard's record)."""

    def __init__(self, origin: str, signer: NoteSigner, publish: Callable[[int, str], None] | None = None) -> None:
        self.origin, self.signer, self.publish = origin, signer, publish
        self._edge: tuple[int, dict[merkle.NodeId, bytes]] = (0, {})

    def empty_checkpoint(self) -> str:
        """The signed checkpoint of the empty tree, whose root is the hash of nothing (RFC 9162
        §2.1.1). It is stored nowhere: Ed25519 signs deterministically, so it is the same note each time."""
        return sign_note(Checkpoint(self.origin, 0, merkle.EMPTY_ROOT).body(), self.signer)

    def append(self, session: Session, event: NewEntry) -> Appended:
        seq = sequences.advance(session, SEQUENCE)
        entry = Entry(seq=seq, at=timestamp(datetime.now(UTC)), **dataclasses.asdict(event))
        return self._store(session, entry, lambda root: sign_note(Checkpoint(self.origin, seq, root).body(), self.signer))

    def append_published(self, session: Session, entry: Entry, note: str) -> Appended:
        """Append again an entry this gateway published, with the checkpoint it signed then (a
        re-import from an auditor's export, which the caller has verified)."""
        if sequences.advance(session, SEQUENCE) != entry.seq:
            raise ValueError(f"entry {entry.seq - 1} does not come next in the ledger")
        return self._store(session, entry, lambda root: note)

    def _store(self, session: Session, entry: Entry, checkpoint_for: Callable[[bytes], str]) -> Appended:
        """The entry, the subtrees it completes and the checkpoint of the new size (given its root)."""
        seq, index = entry.seq, entry.seq - 1
        leaf = entry.leaf_hash()
        border = self._border(session, index)
        created = merkle.append(index, leaf, border)
        connection = session.connection()
        connection.execute(_INSERT_ENTRY, {**row_of(entry), "leaf_hash": leaf.hex()})
        connection.execute(_INSERT_NODES, [{"level": node.level, "idx": node.index, "hash": value} for node, value in created])
        known = _Overlay({**border, **dict(created)})
        note = checkpoint_for(merkle.root(seq, known))
        connection.execute(_INSERT_CHECKPOINT, {"size": seq, "note": note, "created_at": datetime.now(UTC)})
        edge = {node: known.nodes[node] for node in merkle.compact_range_ids(seq)}
        return Appended(index, entry, note, merkle.inclusion_proof(index, seq, known), edge)

    def committed(self, appended: Appended) -> None:
        """`appended` is committed: its tree's edge is the next append's border. Only committed
        state is remembered, and only used for the size it belongs to, so another process
        appending meanwhile just means one read of the border."""
        self._edge = (appended.index + 1, appended.edge)
        if self.publish is not None:
            self.publish(appended.index + 1, appended.checkpoint)

    def _border(self, session: Session, size: int) -> dict[merkle.NodeId, bytes]:
        remembered, nodes = self._edge
        if remembered == size:
            return nodes
        ids = merkle.compact_range_ids(size)
        return dict(zip(ids, DatabaseNodes(session).get_nodes(ids), strict=True)) if ids else {}

    @staticmethod
    def size(session: Session) -> int:
        return session.execute(select(LedgerCheckpoint.size).order_by(LedgerCheckpoint.size.desc()).limit(1)).scalar() or 0


class _Overlay:
    """The nodes an append just computed, readable before they are flushed."""

    def __init__(self, nodes: dict[merkle.NodeId, bytes]) -> None:
        self.nodes = nodes

    def get_nodes(self, ids: Sequence[merkle.NodeId]) -> list[bytes]:
        return [self.nodes[node] for node in ids]


def write_tree(session: Session, tree: merkle.MemoryTree, batch: int = 50_000) -> None:
    """Seed an empty store with a whole tree's nodes (how the benchmarks and scale tests build a
    large ledger without appending entry by entry); the caller commits."""
    rows = [{"level": node.level, "idx": node.index, "hash": value} for node, value in tree.nodes.items()]
    for start in range(0, len(rows), batch):
        session.execute(insert(LedgerNode), rows[start:start + batch])
    sequences.set_value(session, SEQUENCE, tree.size)


# Entry attribute → ledger_entries column, where the names differ.
_COLUMN_OF = {"sender": "sender_id", "recipient": "recipient_id", "case": "case_id"}


def row_of(entry: Entry) -> dict[str, object]:
    return {_COLUMN_OF.get(field.name, field.name): getattr(entry, field.name) for field in dataclasses.fields(Entry)}


def entry_from_row(row: LedgerEntry) -> Entry:
    return Entry(**{field.name: getattr(row, _COLUMN_OF.get(field.name, field.name)) for field in dataclasses.fields(Entry)})


def b64(hashes: Sequence[bytes]) -> list[str]:
    return [base64.b64encode(value).decode() for value in hashes]
