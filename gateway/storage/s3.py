"""A second `BlobStore`, for any S3-compatible object store.

Publication is atomic for the same reason a rename is on disk: an S3 object becomes visible only
when its upload completes, so a crash or a refused upload leaves no half document under its name.
(A multipart upload cut off by a crash stays invisible; a bucket lifecycle rule aborting incomplete
multipart uploads reclaims its parts.) A blob is read with ranged GETs, a window at a time.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from collections.abc import Iterator
from typing import Any, BinaryIO

import boto3
from botocore.exceptions import ClientError

from gateway.storage.blobs import STALE_SECONDS, check_blob_name, sweep_staged

def _is_blob_name(name: str) -> bool:
    try:
        check_blob_name(name)
    except ValueError:
        return False
    return True


READ_AHEAD = 1024 * 1024  # bytes per GET: a sequential read costs one request per window, memory one window


class _S3StagedBlob:
    def __init__(self, store: S3BlobStore) -> None:
        self._store = store
        # Spooled to disk so memory stays flat; a named file, because upload_file streams each part from
        # its own handle, where upload_fileobj would copy up to ten 8 MiB parts into memory.
        descriptor, name = tempfile.mkstemp(suffix=".part", dir=store.staging_dir)
        self._path = Path(name)
        self._file: BinaryIO | None = os.fdopen(descriptor, "wb")

    def write(self, data: bytes) -> None:
        assert self._file is not None, "a staged blob is written before it is published"
        self._file.write(data)

    def publish(self, name: str) -> None:
        assert self._file is not None
        key = self._store.key(name)
        self._file.close()
        self._file = None
        self._store.client.upload_file(str(self._path), self._store.bucket, key)  # multipart when large
        self._path.unlink()

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._path.unlink(missing_ok=True)


class _S3Reader(io.RawIOBase):
    """The object as an unbuffered, seekable file: each read is one ranged GET (the buffer above sets its size)."""

    def __init__(self, client: Any, bucket: str, key: str, size: int, etag: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._size, self._etag, self._position = size, etag, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self._size - self._position)
        if count <= 0:
            return 0
        span = f"bytes={self._position}-{self._position + count - 1}"
        # IfMatch: every window comes from the object that was opened, never from a replacement.
        data = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=span, IfMatch=self._etag)["Body"].read()
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)

    def readall(self) -> bytes:
        return self.read(max(self._size - self._position, 0)) or b""  # one GET, not one per 8 KiB


class S3BlobStore:
    """Objects `<prefix><uuid>` in one bucket, staged in `*.part` files in `staging_dir` until published
    (one left there by a crash is never visible as a blob, and safe to remove)."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None, staging_dir: Path | None = None) -> None:
        self.bucket, self.prefix, self.staging_dir = bucket, prefix, staging_dir
        self.client = client or boto3.client("s3")

    def key(self, name: str) -> str:
        return self.prefix + check_blob_name(name)

    def stage(self) -> _S3StagedBlob:
        return _S3StagedBlob(self)

    def open(self, name: str) -> BinaryIO:
        key = self.key(name)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(f"no blob {name}") from None
            raise
        raw = _S3Reader(self.client, self.bucket, key, head["ContentLength"], head["ETag"])
        return io.BufferedReader(raw, buffer_size=READ_AHEAD)

    def sweep_incoming(self, older_than_seconds: float = STALE_SECONDS) -> int:
        return sweep_staged(Path(self.staging_dir or tempfile.gettempdir()), older_than_seconds)

    def published(self) -> Iterator[tuple[str, float]]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix):]
                if _is_blob_name(name):
                    yield name, item["LastModified"].timestamp()

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))  # S3 answers 204 for a missing key too
