"""RFC 9162 (Certificate Transparency 2.0) §2.1 Merkle tree: hashes, proofs and their verification.

The store keeps the hash of every *complete* subtree, named `NodeId(level, index)`: node (L, i)
covers leaves [i·2^L, (i+1)·2^L). Any root, inclusion proof or consistency proof is then a matter
of (1) naming the O(log n) complete subtrees it needs (pure), (2) reading them in one batch, and
(3) combining them (pure). Subtrees that are not complete (the right edge of a tree whose size is
not a power of two) are folded from the complete subtrees that decompose them.

Nothing here does I/O: the database store, the in-memory tree and the offline verifier share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple, Protocol

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeId(NamedTuple):
    level: int
    index: int


class NodeReader(Protocol):
    def get_nodes(self, ids: Sequence[NodeId]) -> Sequence[bytes]:
        """Hashes of the given complete subtrees, in the same order (KeyError if one is missing)."""


class ProofError(ValueError):
    """A proof that does not verify, or arguments that cannot describe one."""


def _check_size(size: int) -> None:
    if size < 0:
        raise ValueError(f"negative tree size {size}")


def range_ids(begin: int, end: int) -> list[NodeId]:
    """The maximal complete subtrees that decompose leaves [begin, end), left to right."""
    ids = []
    while begin < end:
        level = (begin & -begin).bit_length() - 1 if begin else (end - begin).bit_length() - 1
        while begin + (1 << level) > end:
            level -= 1
        ids.append(NodeId(level, begin >> level))
        begin += 1 << level
    return ids


def compact_range_ids(size: int) -> list[NodeId]:
    """The right border of a tree of `size` leaves: what an append needs, and what its root folds."""
    _check_size(size)
    return range_ids(0, size)


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of a range's decomposition, right to left, into the range's MTH."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PATH(index, D[0:size]), leaf to root (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        k = _largest_power_of_two_below(high - low)
        if index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low = low + k
    return list(reversed(ranges))


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTH make up PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    ranges: list[tuple[int, int]] = []
    low, high, whole = 0, size2, True
    m = size1
    while True:
        if m == high - low:
            if not whole:
                ranges.append((low, high))
            break
        k = _largest_power_of_two_below(high - low)
        if m <= k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low, m, whole = low + k, m - k, False
    return list(reversed(ranges))


def _hash_ranges(ranges: Sequence[tuple[int, int]], reader: NodeReader) -> list[bytes]:
    """One batched read for every complete subtree the ranges decompose into."""
    decompositions = [range_ids(begin, end) for begin, end in ranges]
    wanted = list(dict.fromkeys(node for ids in decompositions for node in ids))
    known = dict(zip(wanted, reader.get_nodes(wanted), strict=True)) if wanted else {}
    return [fold([known[node] for node in ids]) for ids in decompositions]


def root(size: int, reader: NodeReader) -> bytes:
    """MTH of the first `size` leaves, for any size the store has reached."""
    _check_size(size)
    return _hash_ranges([(0, size)], reader)[0] if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    return _hash_ranges(inclusion_ranges(index, size), reader)


def consistency_proof(size1: int, size2: int, reader: NodeReader) -> list[bytes]:
    return _hash_ranges(consistency_ranges(size1, size2), reader)


def append(index: int, leaf: bytes, border: dict[NodeId, bytes]) -> list[tuple[NodeId, bytes]]:
    """The complete subtrees that appending leaf `index` creates: the leaf itself and each parent
    it completes. `border` holds the hashes of compact_range_ids(index)."""
    created = [(NodeId(0, index), leaf)]
    level, position, current = 0, index, leaf
    while position & 1:
        left = border[NodeId(level, position - 1)]
        level, position = level + 1, position >> 1
        current = node_hash(left, current)
        created.append((NodeId(level, position), current))
    return created


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that `proof` implies for `leaf` at `index`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    return result


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> None:
    if root_from_inclusion_proof(index, size, leaf, proof) != expected_root:
        raise ProofError("the inclusion proof leads to another root")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """RFC 9162 §2.1.4.2: the tree of `size2` (root2) extends the tree of `size1` (root1)."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"size {size2} does not extend size {size1}")
    if size1 == size2:
        if proof or root1 != root2:
            raise ProofError("equal sizes need equal roots and an empty proof")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            first, second = node_hash(node, first), node_hash(node, second)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or first != root1 or second != root2:
        raise ProofError("the consistency proof does not link the two roots")


class CompactRange:
    """The right edge of a tree built leaf by leaf (the hashes of compact_range_ids(size)): O(log n)
    memory whatever the size, one interior hash per leaf on average, and the root of the size
    reached at any time (how the offline verifier streams an export)."""

    def __init__(self) -> None:
        self.size = 0
        self.hashes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        hashes, position, sha256 = self.hashes, self.size, hashlib.sha256
        while position & 1:  # each complete subtree the leaf closes takes its left sibling's place
            leaf = sha256(b"\x01" + hashes.pop() + leaf).digest()
            position >>= 1
        hashes.append(leaf)
        self.size += 1

    def root(self) -> bytes:
        return fold(self.hashes)


class MemoryTree:
    """A whole tree in memory, built with the same pure functions as the database store
    (used by the offline verifier and by the tests)."""

    def __init__(self) -> None:
        self.nodes: dict[NodeId, bytes] = {}
        self.size = 0
        self.reads = 0  # get_nodes calls, so tests can count them

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        self.reads += 1
        return [self.nodes[node] for node in ids]

    def append_leaf_hash(self, leaf: bytes) -> int:
        border = {node: self.nodes[node] for node in compact_range_ids(self.size)}
        self.nodes.update(append(self.size, leaf, border))
        self.size += 1
        return self.size - 1

    def append(self, data: bytes) -> int:
        return self.append_leaf_hash(leaf_hash(data))

    def root(self, size: int | None = None) -> bytes:
        return root(self.size if size is None else size, self)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return consistency_proof(size1, self.size if size2 is None else size2, self)
