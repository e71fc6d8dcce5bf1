"""Streaming encryption of documents: AES-256-GCM in authenticated segments (the STREAM construction
of Hoang, Reyhanitabar, Rogaway and Vizár, as Tink's AES-GCM-HKDF streaming AEAD lays it out).

A document is cut into segments of `SEGMENT_BYTES` plaintext bytes, each sealed on its own, so
memory stays at one segment whatever the size, and a byte range is read by opening only the
segments it touches. Each segment's nonce holds its index and whether it is the last one: a
reordered, dropped, duplicated or truncated segment does not open. Every document gets its own
subkey, derived from the case's data key with a random salt, so nonces never repeat under one key;
`context` (case and document ids) is authenticated, so a ciphertext moved to another document
does not open either. Destroying the case's data key makes every document of the case unreadable.

Layout: MAGIC (4) | salt (16) | nonce prefix (7) | segment 0 | segment 1 | … | last segment,
each segment = AES-GCM(ciphertext || 16-byte tag), nonce = prefix || index (4, big-endian) || last (1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.security.encryption import DecryptionFailed

MAGIC = b"GWS1"
SALT_BYTES = 16
PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC) + SALT_BYTES + PREFIX_BYTES
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
_MAX_SEGMENTS = 2**32


def _cipher(data_key: bytes, salt: bytes, context: str) -> AESGCM:
    subkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"gateway document\n" + context.encode()).derive(data_key)
    return AESGCM(subkey)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_SEGMENTS:
        raise ValueError("a document has at most 2**32 segments")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def segment_count(plaintext_size: int) -> int:
    """Segments of a document: at least one (an empty document is one empty, final segment)."""
    return max(1, -(-plaintext_size // SEGMENT_BYTES))


def ciphertext_size(plaintext_size: int) -> int:
    return HEADER_BYTES + plaintext_size + segment_count(plaintext_size) * TAG_BYTES


class SegmentEncryptor:
    """Feed plaintext in chunks of any size; get back ciphertext to write, in order.

    One full segment is held back until more data arrives, because only `finish()` knows which
    segment is the last."""

    def __init__(self, data_key: bytes, context: str) -> None:
        salt, self._prefix = os.urandom(SALT_BYTES), os.urandom(PREFIX_BYTES)
        self._aead, self._context = _cipher(data_key, salt, context), context.encode()
        self._pending = bytearray()
        self._index = 0
        self.header = MAGIC + salt + self._prefix

    def update(self, data: bytes) -> bytes:
        self._pending += data
        complete = (len(self._pending) - 1) // SEGMENT_BYTES  # keep at least one byte back: it may end the document
        if complete <= 0:
            return b""
        with memoryview(self._pending) as view:
            sealed = b"".join(self._seal(view[i * SEGMENT_BYTES:(i + 1) * SEGMENT_BYTES], last=False) for i in range(complete))
        del self._pending[:complete * SEGMENT_BYTES]
        return sealed

    def finish(self) -> bytes:
        return self._seal(bytes(self._pending), last=True)

    def _seal(self, segment: bytes | memoryview, last: bool) -> bytes:
        nonce = _nonce(self._prefix, self._index, last)
        self._index += 1
        return self._aead.encrypt(nonce, segment, self._context)


def decrypt_range(data_key: bytes, context: str, source: BinaryIO, plaintext_size: int, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Plaintext bytes [start, end) of a sealed document, one authenticated segment at a time.

    `source` is the seekable ciphertext; `plaintext_size` comes from the database, so a ciphertext
    cut short or lengthened is refused at once, before the first byte (the checks run when this is
    called, not when the result is first iterated). Raises DecryptionFailed."""
    end = plaintext_size if end is None else end
    if not 0 <= start <= end <= plaintext_size:
        raise ValueError("the range lies outside the document")
    source.seek(0, os.SEEK_END)
    if source.tell() != ciphertext_size(plaintext_size):
        raise DecryptionFailed("the stored document does not have the length its size implies")
    source.seek(0)
    header = source.read(HEADER_BYTES)
    if not header.startswith(MAGIC):
        raise DecryptionFailed("not a sealed document")
    salt, prefix = header[len(MAGIC):len(MAGIC) + SALT_BYTES], header[len(MAGIC) + SALT_BYTES:]
    return _opened_segments(_cipher(data_key, salt, context), prefix, context, source, plaintext_size, start, end)


def _opened_segments(aead: AESGCM, prefix: bytes, context: str, source: BinaryIO, plaintext_size: int, start: int, end: int) -> Iterator[bytes]:
    last_index = segment_count(plaintext_size) - 1
    first = start // SEGMENT_BYTES
    stop = last_index if end == plaintext_size else (max(end, 1) - 1) // SEGMENT_BYTES
    source.seek(HEADER_BYTES + first * (SEGMENT_BYTES + TAG_BYTES))
    for index in range(first, stop + 1):
        sealed = source.read(SEGMENT_BYTES + TAG_BYTES)
        try:
            plain = aead.decrypt(_nonce(prefix, index, index == last_index), sealed, context.encode())
        except InvalidTag:
            raise DecryptionFailed(f"segment {index} of the document does not open: changed, moved or wrong key") from None
        offset = index * SEGMENT_BYTES
        piece = plain[max(start - offset, 0):end - offset]
        if piece:
            yield piece
