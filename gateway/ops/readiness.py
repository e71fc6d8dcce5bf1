"""Whether this process may serve: the checks that failed, by name, with the reason.

Start-up checks (database, migrations, keys, the ledger self-check, the restore guard) record
their outcome here; `/readyz` reports it and the write path refuses writes while a check that
guards writes is failing. Thread-safe: the server's threads read it while a reload writes it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    check: str
    reason: str  # one line, for operators: never personal data
    blocks_writes: bool


class Readiness:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, Failure] = {}

    def fail(self, check: str, reason: str, *, blocks_writes: bool = False) -> None:
        with self._lock:
            self._failures[check] = Failure(check, reason, blocks_writes)

    def clear(self, check: str) -> None:
        with self._lock:
            self._failures.pop(check, None)

    def failures(self) -> list[Failure]:
        with self._lock:
            return sorted(self._failures.values(), key=lambda failure: failure.check)

    @property
    def ready(self) -> bool:
        return not self.failures()

    def write_refusal(self) -> Failure | None:
        """The first failing check that forbids writes, if any."""
        return next((failure for failure in self.failures() if failure.blocks_writes), None)
