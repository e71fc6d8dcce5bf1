"""The record of published checkpoints, kept outside the database: what the restore guard compares
the database's ledger with.

A checkpoint is published once a client can have seen it, that is once its transaction committed
(a receipt or `GET /v1/ledger/checkpoint` can show it from then on). So it is recorded right after
the commit and before the answer leaves: recorded before the commit, a write that then failed to
commit would leave the record ahead of every database, and the guard would refuse writes for a
checkpoint nobody ever saw. A crash between the commit and the record only leaves the record one
checkpoint behind, which the next write makes good. Each line is fdatasync'd before the answer is
sent, so that what a client saw survives a power cut as the database's commit does (0.25 ms a write
on a quiet machine here, more under load: see README, The restore guard and recovery).

One JSON line per checkpoint, `{"size": N, "note": "<signed checkpoint>"}` (and one per re-import
from an auditor's export, `{"reimported": {"from": …, "to": …, "export_sha256": …, "at": …}}`), appended with one
`write()` on a descriptor opened with O_APPEND: several gateway processes sharing the file (one
PostgreSQL database, one directory) never interleave within a line. Their lines may come out of
size order by a few, so the latest is the largest size near the end, not the last line.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from imr_alomrane_gateway_client.contract.common import utc_text
from imr_alomrane_gateway_client.ledger.checkpoint import Checkpoint, NoteError, NoteVerifier, open_checkpoint

log = logging.getLogger(__name__)
TAIL_BYTES = 64 * 1024  # far more than the lines that concurrent processes can put out of order


@dataclass(frozen=True)
class Published:
    size: int
    root_hash: bytes
    note: str


class PublishedCheckpoints:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._descriptor: int | None = None

    def record(self, size: int, note: str) -> None:
        """Append one checkpoint, durably (OSError if it cannot be written)."""
        self._append({"size": size, "note": note})

    def record_reimport(self, start: int, end: int, export_sha256: str) -> None:
        """Say that entries [start, end) were re-imported from an export (`gateway ledger reimport`)."""
        self._append({"reimported": {"from": start, "to": end, "export_sha256": export_sha256,
                                     "at": utc_text(datetime.now(UTC), "seconds")}})

    def _append(self, record: dict) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._descriptor is None:
                self._descriptor = self._open()
            os.write(self._descriptor, line)
            os.fdatasync(self._descriptor)

    def _open(self) -> int:
        """The descriptor appends go through; a line torn by a crash is ended first, so that the
        next one is not glued to it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            os.write(descriptor, b"\n")
        return descriptor

    def latest(self, verifier: NoteVerifier) -> Published | None:
        """The largest checkpoint on record that the gateway's key signed (a torn or foreign line is skipped)."""
        try:
            with open(self.path, "rb") as record:
                end = record.seek(0, os.SEEK_END)
                record.seek(max(0, end - TAIL_BYTES))
                tail = record.read()
        except FileNotFoundError:
            return None
        lines = tail.split(b"\n")
        if end > TAIL_BYTES:
            lines = lines[1:]  # the first one is cut
        best: Published | None = None
        for line in lines:
            found = _parse(line, verifier)
            if found is not None and (best is None or found.size > best.size):
                best = found
        return best

    def close(self) -> None:
        with self._lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None


def _parse(line: bytes, verifier: NoteVerifier) -> Published | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
        if "reimported" in record:
            return None
        checkpoint: Checkpoint = open_checkpoint(record["note"], verifier)
    except (ValueError, KeyError, TypeError, NoteError):
        log.warning("a line of the published-checkpoint record is not a checkpoint signed by this gateway: skipped")
        return None
    return Published(checkpoint.size, checkpoint.root_hash, record["note"])
