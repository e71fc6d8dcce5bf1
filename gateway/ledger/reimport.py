"""Re-importing the entries a restored database lacks from an auditor's export, so that the ledger
again extends the last published checkpoint (see README, The restore guard and recovery).

Only what the gateway itself published goes back: the export must verify offline against the
gateway's checkpoint key (every entry, every checkpoint), extend the last checkpoint on record, and
agree with the database on everything the database holds; then the entries beyond the database's
size are appended with the checkpoints signed for them at the time. What the entries describe (the
cases, messages and documents written after the backup) is not in an export and stays lost: the
institutions hold it, and their receipts, and send it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from imr_alomrane_gateway_client.ledger import merkle
from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, NoteVerifier, parse_note
from imr_alomrane_gateway_client.ledger.entry import Entry
from gateway.ledger.published import Published
from gateway.ledger.store import Appended, DatabaseNodes, Ledger
from gateway.ledger.verify import VerificationFailed, verify_export


class ReimportRefused(Exception):
    """The export cannot make the database's ledger whole; the message says why."""


@dataclass(frozen=True)
class Reimported:
    start: int  # the database's size before: the first entry appended
    end: int  # the size after
    last: Appended | None


def reimport(session: Session, ledger: Ledger, export: Path, published: Published) -> Reimported:
    """Append, in the caller's transaction, the entries of `export` beyond the database's ledger.
    The export is read twice (verified, then its missing part taken), never held whole."""
    verifier = ledger.signer.verifier
    try:
        with open(export, "rb") as lines:
            verify_export(lines, verifier, since=published.note, progress=None, every_checkpoint=True)  # it re-imports them all
    except VerificationFailed as failure:
        raise ReimportRefused(f"the export does not verify against this gateway's key and its last published checkpoint: {failure}") from None
    start = Ledger.size(session)
    missing, notes = [], {}
    with open(export, encoding="utf-8") as lines:
        for record in map(json.loads, filter(str.strip, lines)):
            if record["type"] == "entry" and record["index"] >= start:
                missing.append(Entry.from_dict(record["entry"]))
            elif record["type"] == "checkpoint" and record["size"] >= start:
                notes[record["size"]] = _signed_by(record["note"], verifier)
    if start and (start not in notes or _root(notes[start]) != merkle.root(start, DatabaseNodes(session))):
        raise ReimportRefused(f"the database's ledger (size {start}) is not a prefix of the export: it forked; restore a backup instead")
    last = None
    for entry in missing:
        if entry.seq not in notes:
            raise ReimportRefused(f"the export holds no checkpoint of size {entry.seq}")
        last = ledger.append_published(session, entry, notes[entry.seq])
    return Reimported(start, start + len(missing), last)


def _root(note: str) -> bytes:
    """The root a checkpoint of the export states (verify_export checked it against the export's entries)."""
    return Checkpoint.parse(parse_note(note)[0]).root_hash


def _signed_by(note: str, verifier: NoteVerifier) -> str:
    """The note with the gateway's own signature only (witnesses' cosignatures stay in the export)."""
    body, signatures = parse_note(note)
    return body + "\n" + "".join(s.line() for s in signatures if (s.name, s.key_id) == (verifier.name, verifier.key_id))
