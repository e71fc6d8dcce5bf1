"""The Merkle tree against published known answers, and against an independent implementation.

Known answers transcribed from github.com/transparency-dev/merkle: `testonly/constants.go`
(commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1: leaf inputs, complete-subtree hashes, roots) and
`proof/verify_test.go` (commit 02194e9afb6c1d95b5381350007963aa70fff472: inclusion and consistency
proofs; its leaf numbers are 1-based). They are the RFC 6962 test data.
"""

from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.merkle import MemoryTree, NodeId, ProofError

LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
NODES = [
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7", "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f", "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (1-based leaf, size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]


def hexes(values) -> list[str]:
    return [value.hex() for value in values]


@pytest.fixture(scope="module")
def tree() -> MemoryTree:
    built = MemoryTree()
    for data in LEAVES:
        built.append(bytes.fromhex(data))
    return built


def test_roots_and_stored_subtrees_match_the_known_answers(tree):
    assert [tree.root(size).hex() for size in range(9)] == ROOTS
    for level, hashes in enumerate(NODES):
        assert [tree.nodes[NodeId(level, index)].hex() for index in range(len(hashes))] == hashes
    assert merkle.EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_known_answers_both_ways(tree, leaf, size, proof):
    assert hexes(tree.inclusion_proof(leaf - 1, size)) == proof
    merkle.verify_inclusion(merkle.leaf_hash(bytes.fromhex(LEAVES[leaf - 1])), leaf - 1, size, [bytes.fromhex(p) for p in proof],
                            bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_known_answers_both_ways(tree, size1, size2, proof):
    assert hexes(tree.consistency_proof(size1, size2)) == proof
    merkle.verify_consistency(size1, size2, [bytes.fromhex(p) for p in proof], bytes.fromhex(ROOTS[size1]), bytes.fromhex(ROOTS[size2]))


# An independent implementation, straight from the RFC's recursive definitions (no gateway code).
def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return path(m, leaves[:k]) + [mth(leaves[k:])] if m < k else path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, leaves[:k], whole) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def build(n: int) -> tuple[MemoryTree, list[bytes]]:
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    built = MemoryTree()
    for data in leaves:
        built.append(data)
    return built, leaves


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_proof_matches_the_rfc_definition_and_verifies(n, data):
    built, leaves = build(n)
    assert built.root() == mth(leaves)
    index = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(index + 1, n))
    proof = built.inclusion_proof(index, size)
    assert proof == path(index, leaves[:size])
    merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, mth(leaves[:size]))
    size1 = data.draw(st.integers(1, n))
    size2 = data.draw(st.integers(size1, n))
    consistency = built.consistency_proof(size1, size2)
    assert consistency == (subproof(size1, leaves[:size2], True) if size1 < size2 else [])
    merkle.verify_consistency(size1, size2, consistency, mth(leaves[:size1]), mth(leaves[:size2]))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 200), st.data())
def test_any_change_breaks_verification(n, data):
    built, leaves = build(n)
    index = data.draw(st.integers(0, n - 1))
    leaf, proof, good_root = merkle.leaf_hash(leaves[index]), built.inclusion_proof(index, n), built.root()
    flip = data.draw(st.integers(0, 31))
    changed_leaf = bytearray(leaf)
    changed_leaf[flip] ^= 1
    # As transparency-dev probes: another leaf, index or tree height (a root alone does not commit to
    # the size; the signed checkpoint pairs them).
    attempts = [(bytes(changed_leaf), index, n, proof), (leaf, (index + 1) % n, n, proof), (leaf, index, 2 * n, proof)]
    if proof:
        changed = [bytearray(p) for p in proof]
        changed[data.draw(st.integers(0, len(proof) - 1))][flip] ^= 1
        attempts += [(leaf, index, n, [bytes(p) for p in changed]), (leaf, index, n, proof[:-1]), (leaf, index, n, proof + [leaf])]
    for args in attempts:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args, good_root)
    size1 = data.draw(st.integers(1, n - 1))
    consistency = built.consistency_proof(size1, n)
    root1 = built.root(size1)
    forked = bytearray(root1)
    forked[flip] ^= 1
    for args in [(size1, n, consistency, bytes(forked), good_root), (size1, n, consistency[:-1], root1, good_root),
                 (size1, n, consistency, root1, built.root(n - 1)), (size1, n, [], root1, good_root)]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)


def test_reads_stay_logarithmic_at_100_000_leaves():
    built = MemoryTree()
    for i in range(100_000):
        built.append_leaf_hash(hashlib.sha256(i.to_bytes(4, "big")).digest())
    bound = 2 * math.ceil(math.log2(100_000)) + 2
    for operation in (lambda t: t.root(99_999), lambda t: t.inclusion_proof(12_345, 99_999),
                      lambda t: t.consistency_proof(31_337, 99_999), lambda t: t.root(65_536)):
        requested = []
        reader = built.get_nodes
        built.get_nodes = lambda ids, reader=reader: (requested.append(len(ids)), reader(ids))[1]
        built.reads = 0
        operation(built)
        del built.get_nodes
        assert len(requested) == 1 and requested[0] <= bound, requested


def test_arguments_that_describe_no_proof():
    built, _ = build(4)
    for call in (lambda: built.inclusion_proof(4, 4), lambda: built.inclusion_proof(-1, 4), lambda: built.consistency_proof(3, 2),
                 lambda: merkle.compact_range_ids(-1)):
        with pytest.raises(ValueError):
            call()
