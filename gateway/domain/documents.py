"""Which documents a case file may carry: the type is read from the bytes themselves (their magic
numbers, via the `filetype` library), never from the declared Content-Type or the file name."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

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


_EXTENDED = re.compile(r"filename\*\s*=\s*UTF-8'[A-Za-z-]*'([A-Za-z0-9!#$&+.^_`|~%-]+)", re.IGNORECASE)
_QUOTED = re.compile(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_TOKEN = re.compile(r"filename\s*=\s*([A-Za-z0-9!#$&+.^_`|~-]+)\s*(?:;|$)", re.IGNORECASE)


def attachment_header(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old readers and the exact name in RFC 8187 encoding. The
    SDK sends a document's name this way (headers stay out of URLs, hence out of access logs)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def filename_from_disposition(value: str) -> str:
    """The file name a Content-Disposition header carries: `filename*` (UTF-8, RFC 8187) first,
    else `filename`. Raises ValueError saying what is wrong."""
    if extended := _EXTENDED.search(value):
        try:
            return unquote(extended.group(1), errors="strict")
        except UnicodeDecodeError:
            raise ValueError("filename* is not percent-encoded UTF-8") from None
    if quoted := _QUOTED.search(value):
        return re.sub(r"\\(.)", r"\1", quoted.group(1))
    if token := _TOKEN.search(value):
        return token.group(1)
    raise ValueError("send the name as Content-Disposition: attachment; filename*=UTF-8''<percent-encoded name>")
