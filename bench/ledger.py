"""Ledger cost at scale: proof latency and append cost at a large size, against the same
operations at a small size measured in the same run (the ratio is what to read: O(log n) means
it barely moves; these machines are shared and noisy, so absolute times vary).

Run: .venv/bin/python bench/ledger.py [--size 1000000] [--database-url URL]   (about a minute)
Without --database-url it uses a throwaway SQLite file (the embedded default). Its ledger is
seeded as nodes only, with no entries to export: bench/audit.py builds one through the append path.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import NoteSigner
from imr_alomrane_gateway_client.signers import Ed25519Key
from gateway.ledger.store import DatabaseNodes, Ledger, NewEntry, write_tree
from gateway.storage.engine import Database
from gateway.storage.migrations import upgrade

BASELINE = 1_000


def fill(database: Database, size: int) -> None:
    """Write the complete-subtree nodes of a `size`-entry tree, as the store would have them."""
    tree = merkle.MemoryTree()
    for i in range(size):
        tree.append_leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
    with database.session(write=True) as session:
        write_tree(session, tree)
        session.commit()


def median_ms(run, repeat: int = 200) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def measure(database: Database, size: int) -> dict[str, float]:
    ledger = Ledger("bench/ledger", NoteSigner("bench/ledger", Ed25519Key(Ed25519PrivateKey.generate())))
    figures = {}
    with database.session(write=False) as session:
        reader = DatabaseNodes(session)
        figures["root"] = median_ms(lambda: merkle.root(size, reader))
        figures["inclusion proof"] = median_ms(lambda: merkle.inclusion_proof(size // 3, size, reader))
        figures["consistency proof"] = median_ms(lambda: merkle.consistency_proof(size // 2 + 1, size, reader))

    def append() -> None:
        with database.session(write=True) as session:
            ledger.append(session, NewEntry(kind="message_sent", detail="note", sender="imr", sender_unit="imr", recipient="al-omrane",
                                            recipient_unit="al-omrane", case="c", resource="/v1/cases/c/messages/m",
                                            payload_digest="sha-256=:x:", signature_digest="sha-256=:y:"))
            session.commit()

    figures["append (commit included)"] = median_ms(append, repeat=100)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an empty database to use (migrated here), e.g. a throwaway PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        results = {}
        for size in (BASELINE, args.size):
            url = args.database_url or f"sqlite:///{Path(directory) / f'ledger-{size}.db'}"
            upgrade(url)
            database = Database(url)
            started = time.perf_counter()
            fill(database, size)
            print(f"filled {size:,} entries ({2 * size - bin(size).count('1'):,} nodes) in {time.perf_counter() - started:.1f} s")
            results[size] = measure(database, size)
            database.dispose()
            if args.database_url:
                break
    print(f"\n{'operation':<28}{f'{BASELINE:,} entries':>16}{f'{args.size:,} entries':>20}{'ratio':>8}")
    for name in results[BASELINE]:
        small, large = results[BASELINE][name], results.get(args.size, results[BASELINE])[name]
        print(f"{name:<28}{small:>13.3f} ms{large:>17.3f} ms{large / small:>8.2f}")


if __name__ == "__main__":
    main()
