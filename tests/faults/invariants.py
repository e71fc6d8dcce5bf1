"""Database-wide invariants of the write path, checked straight from the tables.

They hold whatever happened to the gateway (crashes, retries, races between processes): every
accepted write is on the ledger exactly once, the ledger and each inbox count 1..n without a
gap, and every ledger entry an institution sent has exactly one acceptance receipt. A fault test
runs its workload, then `assert_invariants(database_url)`.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

# Each ledger-worthy event, counted from the rows that record it.
EXPECTED_ENTRIES: dict[str, str] = {
    "case_opened": "SELECT count(*) FROM cases",
    "message_sent": "SELECT count(*) FROM messages",
    "document_attached": "SELECT count(*) FROM documents",
    "delivery_acknowledged": "SELECT count(*) FROM inbox_events WHERE delivered_at IS NOT NULL",
    "personal_data_erased": "SELECT count(*) FROM cases WHERE personal_data_erased_at IS NOT NULL",
    "reminder_sent": "SELECT count(*) FROM reminders",
    "registry_changed": "SELECT count(*) FROM registry_versions",
}


class InvariantBroken(AssertionError):
    """One or more invariants do not hold; the message lists each, with what was found."""


@dataclass(frozen=True)
class Census:
    """What the database holds, for the caller's own checks (e.g. the export's size)."""

    ledger_size: int
    expected_by_kind: dict[str, int]
    ledger_by_kind: dict[str, int]

    @property
    def expected_size(self) -> int:
        return sum(self.expected_by_kind.values())


def gaps(seqs: list[int]) -> list[str]:
    """How a list of sequence numbers (sorted) differs from 1..n; empty when it does not."""
    if seqs == list(range(1, len(seqs) + 1)):
        return []
    duplicates = sorted(seq for seq, count in Counter(seqs).items() if count > 1)
    missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
    return [f"{len(seqs)} values, max {max(seqs, default=0)}, missing {missing[:10]}, duplicated {duplicates[:10]}"]


def _scalar(connection: Connection, statement: str) -> int:
    return int(connection.execute(text(statement)).scalar_one())


def census(connection: Connection) -> Census:
    expected = {kind: _scalar(connection, statement) for kind, statement in EXPECTED_ENTRIES.items()}
    rows = connection.execute(text("SELECT kind, count(*) FROM ledger_entries GROUP BY kind")).all()
    return Census(_scalar(connection, "SELECT count(*) FROM ledger_entries"), expected, {kind: int(n) for kind, n in rows})


def ledger_problems(connection: Connection, counted: Census) -> list[str]:
    """Ledger gap-free, and one entry per ledger-worthy event, kind by kind."""
    seqs = list(connection.execute(text("SELECT seq FROM ledger_entries ORDER BY seq")).scalars())
    problems = [f"ledger seqs are not 1..n: {gap}" for gap in gaps(seqs)]
    for kind in sorted(set(counted.expected_by_kind) | set(counted.ledger_by_kind)):
        expected, found = counted.expected_by_kind.get(kind, 0), counted.ledger_by_kind.get(kind, 0)
        if expected != found:
            problems.append(f"ledger has {found} {kind} entries, the database records {expected} such events")
    # A resource is recorded once per kind; a case is reminded once per deadline (`due`) and step
    # (`detail`); the registry once per version (its `detail` names it).
    repeated = connection.execute(text(
        "SELECT kind, resource, count(*) FROM ledger_entries "
        "GROUP BY kind, resource, CASE WHEN kind = 'reminder_sent' THEN due || detail WHEN kind = 'registry_changed' THEN detail END "
        "HAVING count(*) > 1 ORDER BY kind, resource"
    )).all()
    problems += [f"ledger records {kind} {n} times for {resource}" for kind, resource, n in repeated[:10]]
    if len(repeated) > 10:
        problems.append(f"… and {len(repeated) - 10} more resources recorded more than once")
    return problems


def inbox_problems(connection: Connection) -> list[str]:
    rows = connection.execute(text("SELECT recipient_unit, seq FROM inbox_events ORDER BY recipient_unit, seq")).all()
    by_recipient: dict[str, list[int]] = {}
    for recipient, seq in rows:
        by_recipient.setdefault(recipient, []).append(int(seq))
    return [f"inbox of {recipient} is not 1..n: {gap}" for recipient, seqs in by_recipient.items() for gap in gaps(seqs)]


def receipt_ledger_index(token: str) -> int | None:
    """The ledger index an acceptance receipt proves (its `ledger` claim), read without verifying:
    the signature is the SDK's business, the pairing with the ledger is ours."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    ledger = claims.get("ledger")
    return ledger.get("index") if isinstance(ledger, dict) else None


def receipt_problems(connection: Connection) -> list[str]:
    """One acceptance receipt per ledger entry an institution sent (not the gateway's own, such as
    retention erasures), and none that points at no such entry."""
    sent_by_institutions = set(connection.execute(text(
        "SELECT seq - 1 FROM ledger_entries WHERE sender_id IN (SELECT id FROM institutions)"
    )).scalars())
    tokens = connection.execute(text("SELECT id, token FROM receipts WHERE kind = 'acceptance'")).all()
    per_index = Counter(receipt_ledger_index(token) for _, token in tokens)
    problems = []
    without = sorted(sent_by_institutions - set(per_index))
    if without:
        problems.append(f"{len(without)} ledger entries have no acceptance receipt (indexes {without[:10]})")
    doubled = sorted(index for index, n in per_index.items() if n > 1 and index is not None)
    if doubled:
        problems.append(f"{len(doubled)} ledger entries have several acceptance receipts (indexes {doubled[:10]})")
    orphans = [index for index in per_index if index not in sent_by_institutions]
    if orphans:
        problems.append(f"{sum(per_index[i] for i in orphans)} acceptance receipts point at no institution's ledger entry ({orphans[:10]})")
    return problems


def check(database_url: str) -> tuple[Census, list[str]]:
    """The census and every broken invariant (empty when all hold), read in one transaction."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection, connection.begin():
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot
            counted = census(connection)
            return counted, ledger_problems(connection, counted) + inbox_problems(connection) + receipt_problems(connection)
    finally:
        engine.dispose()


def assert_invariants(database_url: str) -> Census:
    counted, problems = check(database_url)
    if problems:
        raise InvariantBroken(describe(problems))
    return counted


def describe(problems: Iterable[str]) -> str:
    return "invariants broken:\n  " + "\n  ".join(problems)
