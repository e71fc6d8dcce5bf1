"""Documents attached to case files and thematic files."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel, Field


class DocumentOut(BaseModel):
    """A document's description. The bytes are at `content`; their SHA-256 is `digest`, which the
    sender's signature and the ledger entry cover."""

    id: str
    case_id: str | None = Field(description="The case it is attached to (none: a thematic file's).")
    thematic_file_id: str | None = Field(description="The thematic file it is attached to (none: a case's).")
    sender_id: str
    filename: str | None = Field(description="Exactly as the sender gave it; absent once the case's personal data was erased.")
    disposition: str | None = Field(
        description="The Content-Disposition header as the sender sent and signed it (its digest is in the signature's `hdr` claim)."
    )
    media_type: str = Field(description="Detected from the bytes, not taken from the sender.")
    size: int
    digest: str = Field(description="RFC 9530 `sha-256=:…:` of the document's bytes.")
    created_at: datetime
    erased: bool
    signature: str | None = Field(
        description="The sender's request JWS: its `dig` claim is `digest`, its `hdr` claim the digest of `disposition`."
    )
    content: str = Field(description="Where to download the bytes (supports Range).")


def attachment_header(filename: str) -> str:
    """RFC 6266: an ASCII fallback for old readers and the exact name in RFC 8187 encoding. The
    SDK sends a document's name this way (headers stay out of URLs, hence out of access logs)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
