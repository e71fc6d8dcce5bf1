"""`gateway backup DIR` and `gateway restore DIR`: the database, the blobs and a manifest.

The database is copied consistently while the gateway serves: SQLite through its online backup
API (one read transaction: WAL readers do not block writers), PostgreSQL with `pg_dump` (custom
format) on a snapshot exported from a REPEATABLE READ transaction, in which the manifest's ledger
size, latest checkpoint and migration revision are read too, so they describe exactly what was
dumped. The blobs are copied after the database: every blob the copy needs was published before
the row naming it committed, so it is there (a blob uploaded meanwhile is one more, which
`gateway blobs collect` removes after a restore). The S3 store's bucket is not copied: it is backed
up with the object store's own versioning or replication.

Never in a backup: the master key (without it the data keys in the copy cannot be unwrapped: that
is what makes an erasure final, and a stolen backup unreadable), the signing keys, and the restore
guard's record of published checkpoints, which is what catches a restore of an old backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from gateway.config import Settings
from imr_alomrane_gateway_client.contract.common import utc_text
from gateway.misconfiguration import ConfigurationError
from gateway.storage.blobs import BlobStore, LocalBlobStore, check_blob_name
from gateway.storage.engine import Database
from gateway.storage.models import LedgerCheckpoint

MANIFEST = "manifest.json"
SQLITE_COPY = "database.sqlite3"
POSTGRES_DUMP = "database.pgdump"
BLOBS = "blobs"
CHUNK = 1024 * 1024
MASTER_KEY_NOTE = ("not in this backup: kept apart (offline); without it the copy's personal data and documents "
                   "cannot be read, which is what makes an erasure final")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class LedgerState:
    size: int
    checkpoint: str | None
    revision: list[str]


def backup(settings: Settings, database: Database, blobs: BlobStore, directory: Path) -> dict:
    """Write a backup into `directory` (new or empty) and return its manifest."""
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: a backup is never written over another")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if settings.is_sqlite:
        database_file, state = SQLITE_COPY, _copy_sqlite(_sqlite_path(settings), directory / SQLITE_COPY)
    else:
        database_file, state = POSTGRES_DUMP, _dump_postgres(settings, database, directory / POSTGRES_DUMP)
    files = [_described(directory, database_file, sha256_of(directory / database_file))]
    if isinstance(blobs, LocalBlobStore):
        files += [_described(directory, relative, digest) for relative, digest in _copy_blobs(blobs, directory)]
        blob_store = "local: copied under blobs/"
    else:
        blob_store = (f"s3://{settings.blob_s3_bucket}/{settings.blob_s3_prefix}: not copied; back the bucket up with "
                      "its own versioning or replication")
    os.sync()  # the copies are on disk before the manifest says the backup is complete
    manifest = {
        "format": 1, "created_at": utc_text(datetime.now(UTC), "seconds"),
        "gateway_id": settings.gateway_id, "engine": "sqlite" if settings.is_sqlite else "postgresql",
        "database_file": database_file, "migration_revision": state.revision,
        "ledger": {"size": state.size, "checkpoint": state.checkpoint},
        "blob_store": blob_store, "master_key": MASTER_KEY_NOTE, "files": files,
    }
    _write_durably(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n")
    return manifest


def restore(settings: Settings, database: Database, blobs: BlobStore, directory: Path, force: bool) -> dict:
    """Check the backup's every file against its manifest, then replace the database and add the
    blobs. Refused over a database that holds a ledger unless `force`."""
    manifest = read_manifest(directory)
    engine = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest["engine"] != engine:
        raise BackupError(f"the backup is of a {manifest['engine']} database, GATEWAY_DATABASE_URL is {engine}")
    held = _ledger_size(database)
    if held and not force:
        raise BackupError(f"the database already holds a ledger of {held} entries: restoring replaces it; stop every "
                          "gateway process and add --force")
    database.dispose()  # no connection of ours stays open on what is replaced
    if settings.is_sqlite:
        _restore_sqlite(directory / SQLITE_COPY, _sqlite_path(settings))
    else:
        _run(settings, "pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner", "--no-acl",
             f"--dbname={make_url(settings.database_url).database}", str(directory / POSTGRES_DUMP))
    if isinstance(blobs, LocalBlobStore):
        _restore_blobs(blobs, directory, manifest)
    return manifest


def read_manifest(directory: Path) -> dict:
    """The manifest, once every file it lists is there with its SHA-256."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{directory / MANIFEST} is missing or not a backup manifest ({error})") from None
    for described in files:
        path = _inside(directory, described["path"])
        if not path.is_file():
            raise BackupError(f"{described['path']} is listed in the manifest but missing from the backup")
        if sha256_of(path) != described["sha256"]:
            raise BackupError(f"{described['path']} does not have the SHA-256 the manifest states: the backup is damaged")
    return manifest


def _sqlite_path(settings: Settings) -> Path:
    return Path(make_url(settings.database_url).database)


def _copy_sqlite(source: Path, copy: Path) -> LedgerState:
    live, target = sqlite3.connect(source), sqlite3.connect(copy)
    try:
        live.backup(target)  # one step: a single consistent read of the live database
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        live.close()
        target.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:
            return _state(connection)
    finally:
        engine.dispose()


def _restore_sqlite(copy: Path, target: Path) -> None:
    """Through the backup API too, into the database file itself: its WAL is taken care of."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source, live = sqlite3.connect(copy), sqlite3.connect(target)
    try:
        source.backup(live)
        live.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        live.close()


def _dump_postgres(settings: Settings, database: Database, dump: Path) -> LedgerState:
    with database.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        state = _state(connection)
        _run(settings, "pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={dump}")
    return state


def _state(connection: Connection) -> LedgerState:
    latest = connection.execute(select(LedgerCheckpoint.size, LedgerCheckpoint.note).order_by(LedgerCheckpoint.size.desc()).limit(1)).one_or_none()
    size, note = latest or (0, None)
    return LedgerState(size, note, sorted(MigrationContext.configure(connection).get_current_heads()))


def _ledger_size(database: Database) -> int:
    with database.engine.connect() as connection:
        if not inspect(connection).has_table(LedgerCheckpoint.__tablename__):
            return 0
        return _state(connection).size


def _run(settings: Settings, tool: str, *arguments: str) -> None:
    """pg_dump or pg_restore on GATEWAY_DATABASE_URL (its password passed in the environment, not the command line)."""
    program = settings.postgres_bin_dir / tool if settings.postgres_bin_dir else shutil.which(tool)
    if program is None or not Path(program).is_file():
        raise ConfigurationError("GATEWAY_POSTGRES_BIN_DIR", f"{tool} is not found there (nor on the PATH)",
                                 "install the PostgreSQL 15 client tools, or set it to their directory (/usr/lib/postgresql/15/bin)")
    url = make_url(settings.database_url)
    connection = {"PGHOST": url.host or url.query.get("host"), "PGPORT": url.port, "PGUSER": url.username,
                  "PGPASSWORD": url.password, "PGDATABASE": url.database, "PGSSLMODE": url.query.get("sslmode")}
    environment = {**os.environ, **{name: str(value) for name, value in connection.items() if value is not None}}
    done = subprocess.run([str(program), "--no-password", *arguments], env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{tool} failed (exit status {done.returncode}): {last}")


def _copy_blobs(store: LocalBlobStore, directory: Path) -> Iterator[tuple[str, str]]:
    for name, _ in store.published():
        relative = f"{BLOBS}/{name[:2]}/{name}"
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with store.open(name) as source, open(target, "xb") as copy:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    copy.write(chunk)
        except FileNotFoundError:  # deleted since it was listed (an erasure): the copy does not need it
            target.unlink(missing_ok=True)
            continue
        yield relative, digest.hexdigest()


def _restore_blobs(store: LocalBlobStore, directory: Path, manifest: dict) -> None:
    """Each blob of the backup that the store lacks, published as an upload is (staged, then renamed)."""
    for described in manifest["files"]:
        relative = described["path"]
        if not relative.startswith(BLOBS + "/"):
            continue
        name = check_blob_name(Path(relative).name)
        if store.path(name).is_file() and sha256_of(store.path(name)) == described["sha256"]:
            continue
        staged = store.stage()
        with open(directory / relative, "rb") as source:
            while chunk := source.read(CHUNK):
                staged.write(chunk)
        staged.publish(name)


def _described(directory: Path, relative: str, digest: str) -> dict:
    return {"path": relative, "sha256": digest, "bytes": (directory / relative).stat().st_size}


def _inside(directory: Path, relative: str) -> Path:
    path = (directory / relative).resolve()
    if not path.is_relative_to(directory.resolve()):
        raise BackupError(f"the manifest lists {relative!r}, outside the backup")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "xb") as target:
        target.write(data)
        target.flush()
        os.fsync(target.fileno())
