"""Where document ciphertexts live, behind a small interface (`BlobStore`).

Blobs are named by the gateway (a document's UUID), never by anything a sender chose, so a file
name cannot become a path. A blob is written to a staging area and published atomically only once
it is complete and checked: a crash or a refused upload leaves no half document visible.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from collections.abc import Iterator
from typing import BinaryIO, Protocol

STALE_SECONDS = 24 * 3600  # a staged file older than this was left by a crash
_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class StagedBlob(Protocol):
    def write(self, data: bytes) -> None: ...
    def publish(self, name: str) -> None:
        """Make the blob visible under `name`, atomically and durably."""
    def discard(self) -> None:
        """Forget the blob (after a refusal, or when its publication was not committed)."""


class BlobStore(Protocol):
    def stage(self) -> StagedBlob: ...
    def sweep_incoming(self, older_than_seconds: float = ...) -> int:
        """Remove staged files a crash left behind (they were never visible as documents)."""
    def open(self, name: str) -> BinaryIO:
        """A seekable reader; FileNotFoundError if there is no such blob."""
    def delete(self, name: str) -> None:
        """Remove a published blob; nothing happens if it is already gone."""
    def published(self) -> Iterator[tuple[str, float]]:
        """Every published blob's name and modification time (Unix seconds), in no order."""


def check_blob_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError("a blob is named by a lowercase UUID")
    return name


class _LocalStagedBlob:
    def __init__(self, store: LocalBlobStore) -> None:
        self._store = store
        self._path = store.incoming / f"{uuid.uuid4()}.part"
        self._file: BinaryIO | None = open(self._path, "xb")  # noqa: SIM115 (closed by publish or discard)

    def write(self, data: bytes) -> None:
        assert self._file is not None, "a staged blob is written before it is published"
        self._file.write(data)

    def publish(self, name: str) -> None:
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        target = self._store.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path, target)  # atomic on one filesystem: the staging area is inside the store
        _fsync_directory(target.parent)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._path.unlink(missing_ok=True)


class LocalBlobStore:
    """Files under one directory (`var/blobs` by default): `<root>/<2 hex>/<uuid>`, staged in `<root>/incoming`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, name: str) -> Path:
        return self.root / check_blob_name(name)[:2] / name

    def stage(self) -> _LocalStagedBlob:
        return _LocalStagedBlob(self)

    def open(self, name: str) -> BinaryIO:
        return open(self.path(name), "rb")  # noqa: SIM115 (the caller closes it)

    def delete(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)

    def published(self) -> Iterator[tuple[str, float]]:
        for path in self.root.glob("[0-9a-f][0-9a-f]/*"):
            if _NAME.fullmatch(path.name):
                yield path.name, path.stat().st_mtime

    def sweep_incoming(self, older_than_seconds: float = STALE_SECONDS) -> int:
        return sweep_staged(self.incoming, older_than_seconds)


def sweep_staged(directory: Path, older_than_seconds: float = STALE_SECONDS) -> int:
    """Remove `*.part` files older than this from a staging directory; returns how many."""
    limit, removed = time.time() - older_than_seconds, 0
    for leftover in directory.glob("*.part"):
        if leftover.stat().st_mtime < limit:
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
