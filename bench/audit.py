"""An auditor's cost at scale: `gateway ledger verify` on the export of a realistic ledger built
through the real append path, against raw hashlib SHA-256 over the same leaf bytes measured in the
same run (the ratio is what to read: these machines are shared and noisy, so both are CPU time).

Run: .venv/bin/python bench/audit.py [--entries 1000000] [--batch 1000] [--cosign-every 10000]
     .venv/bin/python bench/audit.py --quick      (a few thousand entries, a few seconds)
Without --database-url it uses a throwaway SQLite file (the embedded default). Each verification
runs in a child process, so its peak resident size is its own.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import itertools
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from gateway.domain.party import Party, Unit
from imr_alomrane_gateway_client.vocabulary import LedgerKind, Role
from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, NoteSigner, NoteVerifier, cosign
from imr_alomrane_gateway_client.ledger.entry import timestamp
from gateway.ledger.store import NewEntry
from gateway.ledger.store import Ledger
from imr_alomrane_gateway_client.signers import Ed25519Key
from imr_alomrane_gateway_client.signing import content_digest
from gateway.ledger.verify import verify_export
from gateway.services.ledger import add_cosignature, export_lines
from gateway.storage.engine import Database
from gateway.storage.migrations import upgrade
from gateway.storage.models import Institution

ORIGIN = "bench.example/ledger"
WITNESS = "auditor.example/w1"
_REGIONS = ("casablanca-settat", "rabat-sale-kenitra", "fes-meknes", "marrakech-safi", "oriental", "souss-massa")
# One case's life, as the exchange writes it: (kind, detail, sent by the mediator, with a deadline).
_LIFE = (
    (LedgerKind.CASE_OPENED, "delivery_delays", True, True),
    (LedgerKind.DELIVERY_ACKNOWLEDGED, "case_opened", False, False),
    (LedgerKind.MESSAGE_SENT, "acknowledgement", False, False),
    (LedgerKind.DOCUMENT_ATTACHED, "application/pdf", True, False),
    (LedgerKind.MESSAGE_SENT, "information_request", False, True),
    (LedgerKind.MESSAGE_SENT, "information_response", True, False),
    (LedgerKind.REMINDER_SENT, "due", None, True),
    (LedgerKind.MESSAGE_SENT, "final_reply", False, False),
    (LedgerKind.MESSAGE_SENT, "closure", True, False),
)


def realistic_entries() -> Iterator[NewEntry]:
    """Cases worked through end to end across the regions, every seventh one's units the head offices,
    and now and then a registry change (its detail a JSON object, so escaped quotes in the export)."""
    for number in itertools.count():
        case, region = str(uuid.UUID(int=number)), _REGIONS[number % len(_REGIONS)]
        units = ("imr", "al-omrane") if number % 7 == 0 else (f"imr-{region}", f"al-omrane-{region}")
        for step, (kind, detail, by_mediator, sets_deadline) in enumerate(_LIFE):
            digest = content_digest(f"{case}/{step}".encode())
            if by_mediator is None:  # the gateway reminds the respondent
                sender, recipient = ("gateway", "gateway"), ("al-omrane", units[1])
            else:
                sides = (("imr", units[0]), ("al-omrane", units[1]))
                sender, recipient = sides if by_mediator else sides[::-1]
            yield NewEntry(
                kind=kind, detail=detail, sender=sender[0], sender_unit=sender[1], recipient=recipient[0], recipient_unit=recipient[1],
                case=case, resource=f"/v1/cases/{case}" + ("" if step == 0 else f"/messages/{uuid.UUID(int=number * 16 + step)}"),
                payload_digest=digest, signature_digest=content_digest(digest.encode()), region=region,
                due=timestamp(datetime(2027, 1, 1 + step, tzinfo=UTC)) if sets_deadline else None,
                refers=f"/v1/cases/{case}" if step == len(_LIFE) - 1 else None,
            )
        if number % 5000 == 4999:
            detail = json.dumps({"changes": [{"change": "key_added", "kid": f"k{number}", "owner": "imr"}], "version": number // 5000},
                                sort_keys=True, separators=(",", ":"))
            yield NewEntry(kind=LedgerKind.REGISTRY_CHANGED, detail=detail, sender="gateway", sender_unit="gateway", recipient="gateway",
                           recipient_unit="gateway", case="registry", resource="/v1/keys/history",
                           payload_digest=content_digest(detail.encode()), signature_digest=content_digest(b""))


@dataclass(frozen=True)
class Built:
    export: Path
    leaves: Path  # each leaf's bytes (0x00 ‖ canonical entry), one a line: what raw hashing hashes
    note_key: str
    witness_key: str
    seconds: float


def build(url: str, directory: Path, entries: int, batch: int, cosign_every: int) -> Built:
    """Append `entries` through Ledger.append, `batch` to a transaction, a witness cosigning every
    `cosign_every`-th checkpoint through the cosignature service; then export the ledger."""
    upgrade(url)
    database = Database(url)
    ledger = Ledger(ORIGIN, NoteSigner(ORIGIN, Ed25519Key(Ed25519PrivateKey.generate())))
    witness_key = Ed25519PrivateKey.generate()
    witness = NoteVerifier(WITNESS, witness_key.public_key(), COSIGNATURE_V1)
    auditor = Party("bench-auditor", Role.AUDITOR, "Auditeur", "مدقق", Unit("bench-auditor", "bench-auditor", "Auditeur", "مدقق", frozenset(), True))
    started = time.perf_counter()
    with database.session(write=True) as session:
        session.execute(insert(Institution), [{"id": "bench-auditor", "name_fr": "Auditeur", "name_ar": "مدقق", "role": "auditor"}])
        session.commit()
    leaves = directory / "leaves.bin"
    stream = realistic_entries()
    with leaves.open("wb") as leaf_file:
        for start in range(0, entries, batch):
            with database.session(write=True) as session:
                for _ in range(min(batch, entries - start)):
                    appended = ledger.append(session, next(stream))
                    ledger.committed(appended)  # as each request's commit would: the next append needs no border read
                    leaf_file.write(b"\x00" + appended.entry.canonical() + b"\n")
                    if cosign_every and (appended.index + 1) % cosign_every == 0:
                        line = cosign(appended.checkpoint, WITNESS, witness_key).line()
                        add_cosignature(session, auditor, [witness], appended.index + 1, line)
                session.commit()
            if start and start % (50 * batch) == 0:
                print(f"  appended {start:,} entries in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    seconds = time.perf_counter() - started
    export = directory / "ledger.jsonl"
    note_key = ledger.signer.verifier.key_string
    with export.open("w", encoding="utf-8") as out:
        out.writelines(export_lines(database, ORIGIN, note_key))
    database.dispose()
    built = Built(export, leaves, note_key, witness.key_string, seconds)
    (directory / "built.json").write_text(json.dumps({"note_key": note_key, "witness_key": witness.key_string, "seconds": seconds}))
    return built


def reuse(directory: Path) -> Built:
    """A ledger built earlier with --keep (building a million entries takes a while)."""
    kept = json.loads((directory / "built.json").read_text())
    return Built(directory / "ledger.jsonl", directory / "leaves.bin", kept["note_key"], kept["witness_key"], kept["seconds"])


def raw_hashing_seconds(leaves: Path, chunk: int = 10_000) -> float:
    """CPU time of hashlib SHA-256 over every leaf's bytes, held in memory a chunk at a time (only the
    hashing is timed), the best of three passes."""
    passes, sha256 = [], hashlib.sha256
    for _ in range(3):
        total = 0.0
        with leaves.open("rb") as lines:
            while block := [line[:-1] for line in itertools.islice(lines, chunk)]:
                started = time.process_time()
                for leaf in block:
                    sha256(leaf).digest()
                total += time.process_time() - started
        passes.append(total)
    return min(passes)


_CHILD = """
import json, resource, sys, time
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from gateway.ledger.verify import verify_export
export, key, witness, options = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
log, witnesses = NoteVerifier.from_key_string(key), [NoteVerifier.from_key_string(witness)]
with open(export, "rb") as lines:
    started = time.process_time()
    verdict = verify_export(lines, log, witnesses, progress=None, **options)
    seconds = time.process_time() - started
print(json.dumps({"seconds": seconds, "line": verdict.line(), "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def verify_in_child(built: Built, **options) -> dict:
    """One verification in a fresh interpreter: its CPU time (reading and all, start-up excluded) and peak RSS."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(built.export), built.note_key, built.witness_key, json.dumps(options)],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the verifier failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="3,000 entries: the form CI runs")
    parser.add_argument("--batch", type=int, default=1000, help="appends per transaction while building")
    parser.add_argument("--cosign-every", type=int, default=10_000, help="a witness cosigns every N-th checkpoint (0: none)")
    parser.add_argument("--database-url", help="an empty database to build in (migrated here), e.g. a throwaway PostgreSQL")
    parser.add_argument("--default-only", action="store_true", help="skip --every-checkpoint (an Ed25519 check per entry)")
    parser.add_argument("--keep", type=Path, help="keep the ledger's export and leaves in this directory, and use them if there")
    args = parser.parse_args()
    entries = 3000 if args.quick else args.entries
    cosign_every = min(args.cosign_every, 1000) if args.quick else args.cosign_every
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        url = args.database_url or f"sqlite:///{Path(scratch) / 'ledger.db'}"
        built = reuse(directory) if (directory / "built.json").exists() else build(url, directory, entries, args.batch, cosign_every)
        entries = sum(1 for _ in built.leaves.open("rb"))
        print(f"built {entries:,} entries through Ledger.append in {built.seconds:.1f} s "
              f"({built.seconds / entries * 1e6:.0f} µs an entry); export {built.export.stat().st_size / 2**20:.1f} MiB")
        runs = {"verify (default)": {}, "verify --every-checkpoint": {"every_checkpoint": True}}
        if args.default_only:
            del runs["verify --every-checkpoint"]
        if "every_checkpoint" not in inspect.signature(verify_export).parameters:  # the verifier before sampling
            runs = {"verify": {}}
        print(f"\n{'':<28}{'s':>9}{'µs/entry':>10}{'× hashing':>11}{'peak RSS':>11}")
        for name, options in runs.items():
            raw = raw_hashing_seconds(built.leaves)
            figures = verify_in_child(built, **options)
            if name == next(iter(runs)):
                print(f"{'raw SHA-256 of the leaves':<28}{raw:>9.2f}{raw / entries * 1e6:>10.2f}{1:>10.2f}×")
            print(f"{name:<28}{figures['seconds']:>9.2f}{figures['seconds'] / entries * 1e6:>10.2f}"
                  f"{figures['seconds'] / raw:>10.2f}×{figures['rss_mib']:>7.0f} MiB")
            print(f"  {figures['line'][:200]}")


if __name__ == "__main__":
    main()
