"""Which documents a case file may carry: the type is read from the bytes themselves (their magic
numbers, via the `filetype` library), never from the declared Content-Type or the file name."""

from __future__ import annotations

import filetype

from gateway.domain import disposition
from imr_alomrane_gateway_client.names import hidden_character

SNIFF_BYTES = 8192  # what `filetype` inspects; enough to find the first entries of a DOCX or ODT

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DEFAULT_ALLOWED = (PDF, JPEG, PNG, TIFF, ODT, DOCX)


def detect_type(head: bytes) -> str | None:
    """The media type of a document from its first bytes, or None if it is not recognised."""
    return filetype.guess_mime(head) if head else None


def short_name(media_type: str) -> str:
    """What the ledger records of a document's type: its usual extension ("pdf", "docx")."""
    known = filetype.get_type(mime=media_type)
    return known.extension if known else media_type[:40]


def filename_from_disposition(value: str) -> str:
    """The file name a Content-Disposition header carries, parsed strictly (gateway.domain.disposition):
    `filename*` (UTF-8, RFC 8187) when it is a parameter of its own, else `filename`, which must then be
    ASCII (RFC 6266 §4.3 leaves its charset undefined). Raises ValueError saying what is wrong, never the name."""
    _, parameters = disposition.parse(value)
    if "filename*" in parameters:
        name = parameters["filename*"]
    elif "filename" in parameters:
        name = parameters["filename"]
        if not name.isascii():
            raise ValueError("a name outside ASCII is sent as filename*=UTF-8''<percent-encoded name>")
    else:
        raise ValueError("send the name as Content-Disposition: attachment; filename*=UTF-8''<percent-encoded name>")
    if problem := _unsafe(name):
        raise ValueError(problem)
    return name


def _unsafe(name: str) -> str | None:
    """Why a sender's file name cannot be kept as given, or None. Names are stored and shown
    exactly (Arabic, French, spaces, any script) but are never used as paths, so only what cannot
    be displayed faithfully is refused (imr_alomrane_gateway_client.names: a bidirectional override can disguise
    an extension)."""
    if not name or len(name) > 255:
        return "a file name has 1 to 255 characters"
    if hidden := hidden_character(name):
        return f"a file name holds no control, format or invisible character; found {hidden}"
    if name != name.strip():
        return "a file name does not start or end with spaces"
    return None
