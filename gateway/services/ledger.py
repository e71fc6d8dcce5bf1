"""Reading the ledger: checkpoints, entries and proofs, all from stored nodes (O(log n) reads)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.contract.ledger import ProcessingStatisticsOut
from gateway.domain.party import Party
from imr_alomrane_gateway_client.vocabulary import Role
from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.entry import Entry
from gateway.ledger.verify import ENTRY_LINE_MEMBER, ENTRY_LINE_START
from gateway.ledger.stats import KINDS as STATISTICS_KINDS, Scope, statistics
from gateway.ledger.store import DatabaseNodes, Ledger, entry_from_row
from gateway.problems import ProblemError
from imr_alomrane_gateway_client.ledger.checkpoint import NoteError, NoteVerifier, parse_note, verify_cosignature
from gateway.storage.models import LedgerCheckpoint, LedgerCosignature, LedgerEntry
from gateway.storage.upsert import insert_ignore


def checkpoint(session: Session, ledger: Ledger, size: int | None = None) -> tuple[int, str]:
    """A signed checkpoint (the latest, or of `size`) with every witness cosignature gathered;
    for an empty ledger (or size 0) the empty tree's, which no witness cosigns."""
    found = _cosigned(session, size) if size != 0 else None
    if found is not None:
        return found
    if size:
        raise ProblemError("not-found", "no checkpoint of that size")
    return 0, ledger.empty_checkpoint()


def _cosigned(session: Session, size: int | None) -> tuple[int, str] | None:
    """The stored checkpoint (the latest, or of `size`) and its cosignatures, if there is one."""
    statement = select(LedgerCheckpoint)
    statement = statement.where(LedgerCheckpoint.size == size) if size is not None else statement.order_by(LedgerCheckpoint.size.desc()).limit(1)
    found = session.execute(statement).scalar_one_or_none()
    if found is None:
        return None
    lines = session.execute(
        select(LedgerCosignature.line).where(LedgerCosignature.size == found.size).order_by(LedgerCosignature.created_at)
    ).scalars().all()
    return found.size, found.note + "".join(lines)


def add_cosignature(session: Session, witness: Party, keys: list[NoteVerifier], size: int, line: str) -> tuple[int, str]:
    """Keep a witness's cosignature, if it verifies with one of the witness's registered keys
    over the checkpoint the gateway signed for `size`. Submitting it again changes nothing."""
    found = session.get(LedgerCheckpoint, size)
    if found is None:
        raise ProblemError("not-found", "no checkpoint of that size")
    try:
        _, signatures = parse_note(found.note + line)
        signature = signatures[-1]
        key = next(k for k in keys if (k.name, k.key_id) == (signature.name, signature.key_id))
        verify_cosignature(found.note + signature.line(), key)
    except StopIteration:
        raise ProblemError("role-forbidden", "the cosignature is not made with one of your registered witness keys") from None
    except NoteError as error:
        raise ProblemError("validation-failed", str(error),
                           errors=[{"pointer": "#/cosignature", "detail": str(error), "code": "cosignature"}]) from None
    insert_ignore(session, LedgerCosignature, [{
        "size": size, "witness": signature.name, "key_id": signature.key_id.hex(), "institution_id": witness.id,
        "line": signature.line(), "created_at": datetime.now(UTC),
    }])
    return _cosigned(session, size)  # type: ignore[return-value]  # found above


def _visible(caller: Party):
    """Auditors see every entry; a head office, the entries its institution sent or received; a
    regional unit, those it sent or received (entries written before units carry none: the head office's)."""
    if caller.role is Role.AUDITOR:
        return True
    if caller.unit.head_office:
        return or_(LedgerEntry.sender_id == caller.id, LedgerEntry.recipient_id == caller.id)
    return or_(LedgerEntry.sender_unit == caller.unit_id, LedgerEntry.recipient_unit == caller.unit_id)


def entries(session: Session, caller: Party, start: int, end: int) -> list[LedgerEntry]:
    statement = select(LedgerEntry).where(LedgerEntry.seq > start, LedgerEntry.seq <= end, _visible(caller)).order_by(LedgerEntry.seq)
    return list(session.execute(statement).scalars())


def _require_size(session: Session, size: int) -> None:
    current = Ledger.size(session)
    if not 0 < size <= current:
        raise ProblemError("not-found", f"the ledger has {current} entries")


def inclusion(session: Session, caller: Party, size: int, index: int | None, leaf_hash: str | None) -> tuple[int, str, list[bytes]]:
    statement = select(LedgerEntry).where(_visible(caller))
    if leaf_hash is not None:
        statement = statement.where(LedgerEntry.leaf_hash == leaf_hash.lower())
    else:
        statement = statement.where(LedgerEntry.seq == (index or 0) + 1)
    row = session.execute(statement).scalar_one_or_none()
    if row is None or row.seq > size:
        raise ProblemError("not-found", "no such entry in a tree of that size")
    _require_size(session, size)
    return row.seq - 1, entry_from_row(row).leaf_hash().hex(), merkle.inclusion_proof(row.seq - 1, size, DatabaseNodes(session))


def consistency(session: Session, first: int, second: int) -> list[bytes]:
    if not 0 < first <= second:
        raise ProblemError("validation-failed", "need 0 < first <= second",
                           errors=[{"parameter": "first", "detail": "must be positive and at most second", "code": "range"}])
    _require_size(session, second)
    return merkle.consistency_proof(first, second, DatabaseNodes(session))


def export_lines(database, origin: str, note_key: str, start: int = 0, batch: int = 1000) -> Iterator[str]:
    """The ledger as JSON Lines, from entry `start`: each entry then the checkpoint of the size it
    reached. Reads in batches with short transactions, so a long export holds no lock."""
    with database.session(write=False) as session:
        size = Ledger.size(session)
    yield json.dumps({"type": "header", "origin": origin, "note_key": note_key, "from": start, "size": size}) + "\n"
    position = start
    while position < size:
        with database.session(write=False) as session:
            entries = [entry_from_row(row) for row in session.execute(
                select(LedgerEntry).where(LedgerEntry.seq > position, LedgerEntry.seq <= min(size, position + batch)).order_by(LedgerEntry.seq)
            ).scalars()]
            in_batch = (position, min(size, position + batch))
            notes = dict(session.execute(
                select(LedgerCheckpoint.size, LedgerCheckpoint.note).where(LedgerCheckpoint.size > in_batch[0], LedgerCheckpoint.size <= in_batch[1])
            ).all())
            for cosigned, line in session.execute(
                select(LedgerCosignature.size, LedgerCosignature.line)
                .where(LedgerCosignature.size > in_batch[0], LedgerCosignature.size <= in_batch[1])
                .order_by(LedgerCosignature.created_at)
            ).all():
                notes[cosigned] += line
        for entry in entries:
            yield entry_line(entry)
            if entry.seq in notes:
                yield checkpoint_line(entry.seq, notes[entry.seq])
        position += batch


def entry_line(entry: Entry) -> str:
    """An export's entry record, its `entry` the canonical encoding itself: a verifier hashes those
    bytes as they stand (gateway.ledger.verify)."""
    return f'{ENTRY_LINE_START}{entry.seq - 1}{ENTRY_LINE_MEMBER}{entry.canonical().decode()}}}\n'


def checkpoint_line(size: int, note: str) -> str:
    return json.dumps({"type": "checkpoint", "size": size, "note": note}, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class EntryFilter:
    case: str | None = None
    institution: str | None = None
    unit: str | None = None  # sent or received by this unit
    region: str | None = None
    kind: str | None = None
    since: str | None = None  # RFC 3339, compared with the fixed-width `at`
    until: str | None = None


def search(session: Session, caller: Party, filters: EntryFilter, after: int, limit: int) -> list[LedgerEntry]:
    statement = select(LedgerEntry).where(_visible(caller), LedgerEntry.seq > after)
    if filters.case:
        statement = statement.where(LedgerEntry.case_id == filters.case)
    if filters.institution:
        statement = statement.where(or_(LedgerEntry.sender_id == filters.institution, LedgerEntry.recipient_id == filters.institution))
    if filters.unit:
        statement = statement.where(or_(LedgerEntry.sender_unit == filters.unit, LedgerEntry.recipient_unit == filters.unit))
    if filters.region:
        statement = statement.where(LedgerEntry.region == filters.region)
    if filters.kind:
        statement = statement.where(LedgerEntry.kind == filters.kind)
    if filters.since:
        statement = statement.where(LedgerEntry.at >= filters.since)
    if filters.until:
        statement = statement.where(LedgerEntry.at < filters.until)
    return list(session.execute(statement.order_by(LedgerEntry.seq).limit(limit)).scalars())


def processing_statistics(database, reply_days: int, now: datetime, scope: Scope = Scope(), batch: int = 5000) -> ProcessingStatisticsOut:
    """Read the entries the statistics need in batches (short transactions) and summarize them."""

    def entries() -> Iterator[Entry]:
        position = 0
        while True:
            with database.session(write=False) as session:
                rows = [entry_from_row(row) for row in session.execute(
                    select(LedgerEntry).where(LedgerEntry.seq > position, LedgerEntry.kind.in_(sorted(STATISTICS_KINDS)))
                    .order_by(LedgerEntry.seq).limit(batch)
                ).scalars()]
            if not rows:
                return
            yield from rows
            position = rows[-1].seq

    return statistics(entries(), reply_days, now, scope)
