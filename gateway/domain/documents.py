"""Which documents a case file may carry: the type is read from the bytes themselves (their magic
numbers, via the `filetype` library), never from the declared Content-Type or the file name."""

from __future__ import annotations

import filetype

SNIFF_BYTES = 8192  # what `filetype` inspects; enough to find the first entries of a DOCX or ODT

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_ALLOWED = (PDF, JPEG, PNG, TIFF, ODT, DOCX)
_BIDI_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e")


def detect_type(head: bytes) -> str | None:
    """The media type of a document from its first bytes, or None if it is not recognised."""
    return filetype.guess_mime(head) if head else None


def short_name(media_type: str) -> str:
    """What the ledger records of a document's type: its usual extension ("pdf", "docx")."""
    known = filetype.get_type(mime=media_type)
    return known.extension if known else media_type[:40]


def filename_problem(name: str) -> str | None:
    """Why a sender's file name cannot be kept as given, or None. Names are stored and shown
    exactly (Arabic, French, spaces, any script) but are never used as paths, so only what cannot
    travel in a header or be displayed safely is refused."""
    if not name or len(name) > 255:
        return "a file name has 1 to 255 characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "a file name has no control characters"
    if any(c in _BIDI_OVERRIDES for c in name):
        return "a file name has no bidirectional overrides (they can disguise its extension)"
    if name != name.strip():
        return "a file name does not start or end with spaces"
    return None
