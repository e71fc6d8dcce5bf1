"""Segmented AES-GCM: any range reads back exactly; a changed, moved, reordered, truncated or
lengthened ciphertext, a wrong key or a wrong context never yields a byte."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.security.encryption import DecryptionFailed, new_data_key
from gateway.security.streaming import HEADER_BYTES, SEGMENT_BYTES, TAG_BYTES, SegmentEncryptor, ciphertext_size, decrypt_range

KEY = new_data_key()
CONTEXT = "case:c1:document:d1"
SEALED_SEGMENT = SEGMENT_BYTES + TAG_BYTES


def seal(plaintext: bytes, chunk: int = 10_000, key: bytes = KEY, context: str = CONTEXT) -> bytes:
    encryptor = SegmentEncryptor(key, context)
    out = [encryptor.header]
    for start in range(0, len(plaintext), chunk):
        out.append(encryptor.update(plaintext[start:start + chunk]))
    out.append(encryptor.finish())
    return b"".join(out)


def read(sealed: bytes, size: int, start: int = 0, end: int | None = None, key: bytes = KEY, context: str = CONTEXT) -> bytes:
    return b"".join(decrypt_range(key, context, io.BytesIO(sealed), size, start, end))


@pytest.mark.parametrize("size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES, 3 * SEGMENT_BYTES + 17])
def test_round_trip_at_segment_boundaries(size):
    plaintext = os.urandom(size)
    sealed = seal(plaintext)
    assert len(sealed) == ciphertext_size(size)
    assert read(sealed, size) == plaintext


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 3 * SEGMENT_BYTES + 100), st.data())
def test_any_range_reads_back_exactly(size, data):
    plaintext = bytes(range(256)) * (size // 256) + bytes(size % 256)
    start = data.draw(st.integers(0, size))
    end = data.draw(st.integers(start, size))
    assert read(seal(plaintext, chunk=data.draw(st.integers(1, 2 * SEGMENT_BYTES))), size, start, end) == plaintext[start:end]


def test_the_same_document_seals_differently_each_time():
    assert seal(b"x" * 100) != seal(b"x" * 100)


PLAINTEXT = os.urandom(3 * SEGMENT_BYTES + 500)  # four segments
SEALED = seal(PLAINTEXT)


def segments(sealed: bytes) -> list[bytes]:
    body = sealed[HEADER_BYTES:]
    return [body[i:i + SEALED_SEGMENT] for i in range(0, len(body), SEALED_SEGMENT)]


def tampered() -> dict[str, tuple[bytes, int]]:
    header, parts = SEALED[:HEADER_BYTES], segments(SEALED)
    flipped = bytearray(SEALED)
    flipped[HEADER_BYTES + SEALED_SEGMENT + 5] ^= 1
    salt = bytearray(SEALED)
    salt[6] ^= 1
    size = len(PLAINTEXT)
    return {
        "a flipped bit": (bytes(flipped), size),
        "a changed salt": (bytes(salt), size),
        "two segments swapped": (header + parts[1] + parts[0] + parts[2] + parts[3], size),
        "a segment duplicated over another": (header + parts[0] + parts[0] + parts[2] + parts[3], size),
        "the last segment dropped, size adjusted": (header + b"".join(parts[:3]), 3 * SEGMENT_BYTES),
        "cut short": (SEALED[:-1], size),
        "lengthened": (SEALED + b"\x00", size),
        "a last segment from another document": (header + b"".join(parts[:3]) + segments(seal(PLAINTEXT))[3], size),
    }


@pytest.mark.parametrize("name", list(tampered()))
def test_a_tampered_ciphertext_fails_closed(name):
    sealed, size = tampered()[name]
    with pytest.raises(DecryptionFailed):
        read(sealed, size)


def test_a_wrong_key_or_context_fails_closed():
    with pytest.raises(DecryptionFailed):
        read(SEALED, len(PLAINTEXT), key=new_data_key())
    with pytest.raises(DecryptionFailed):
        read(SEALED, len(PLAINTEXT), context="case:c1:document:d2")


def test_a_range_read_checks_only_what_it_returns_but_never_returns_unchecked_bytes():
    flipped = bytearray(SEALED)
    flipped[HEADER_BYTES + 2 * SEALED_SEGMENT + 9] ^= 1  # inside the third segment
    assert read(bytes(flipped), len(PLAINTEXT), 0, SEGMENT_BYTES) == PLAINTEXT[:SEGMENT_BYTES]
    with pytest.raises(DecryptionFailed):
        read(bytes(flipped), len(PLAINTEXT), 2 * SEGMENT_BYTES, 2 * SEGMENT_BYTES + 1)
