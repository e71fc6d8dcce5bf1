"""Blobs no document needs any more: published by an upload whose commit never happened (the
process died between the two), or left by an erasure whose deletion was interrupted. Neither is
ever served; this removes them. Young blobs are left alone: an upload publishes before it commits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import islice

from sqlalchemy import select

from gateway.storage.blobs import BlobStore
from gateway.storage.engine import Database
from gateway.storage.models import Document

_BATCH = 500


def unneeded(database: Database, blobs: BlobStore, older_than_seconds: float) -> Iterator[str]:
    """Names of published blobs older than this with no live document."""
    limit = time.time() - older_than_seconds
    candidates = (name for name, modified in blobs.published() if modified < limit)
    while batch := list(islice(candidates, _BATCH)):
        with database.session(write=False) as session:
            live = set(session.execute(
                select(Document.id).where(Document.id.in_(batch), Document.erased_at.is_(None))
            ).scalars())
        yield from (name for name in batch if name not in live)


def collect(database: Database, blobs: BlobStore, older_than_seconds: float, dry_run: bool = False) -> list[str]:
    removed = []
    for name in unneeded(database, blobs, older_than_seconds):
        if not dry_run:
            blobs.delete(name)
        removed.append(name)
    return removed
