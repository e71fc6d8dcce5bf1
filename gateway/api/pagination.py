"""Opaque cursors and RFC 8288 `Link: <…>; rel="next"` headers."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from datetime import UTC, datetime

from fastapi import Request, Response

from gateway.problems import ProblemError
from gateway.services.cases import CaseCursor


# Positions (sequence numbers, ledger indexes, tree sizes) stay within what a JavaScript number
# holds exactly (Number.MAX_SAFE_INTEGER), so every client reads them as plain numbers.
MAX_POSITION = 2**53 - 1


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        position = None
    if not isinstance(position, dict):
        raise ProblemError("invalid-cursor", "use the cursor exactly as the previous page returned it")
    return position


def encode_position(seq: int) -> str:
    return encode_cursor({"s": seq})


def decode_position(cursor: str | None) -> int:
    """The sequence number a position cursor resumes after (0 without a cursor)."""
    if cursor is None:
        return 0
    seq = decode_cursor(cursor).get("s")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_POSITION:
        raise ProblemError("invalid-cursor", "use the cursor exactly as the previous page returned it")
    return seq


def decode_seq(cursor: str | None) -> int:
    """Where an inbox resumes: after a `next_cursor`, or after a `seq` the client kept (`cursor=17`)."""
    if cursor is not None and cursor.isascii() and cursor.isdigit():
        if int(cursor) > MAX_POSITION:
            raise ProblemError("invalid-cursor", f"a seq is at most {MAX_POSITION}")
        return int(cursor)
    return decode_position(cursor)


def next_link(request: Request, parameter: str, cursor: str | None, *, dropped: tuple[str, ...] = ()) -> dict[str, str]:
    """The `Link: rel="next"` header: this request's URL with `parameter` set to `cursor` (and
    the `dropped` parameters removed)."""
    if cursor is None:
        return {}
    url = request.url.remove_query_params(dropped).include_query_params(**{parameter: cursor})
    return {"Link": f'<{url.path}?{url.query}>; rel="next"'}


# Lists ordered by opening time then id (cases, thematic files).
def next_opening_cursor(request: Request, response: Response, rows: list, size: int) -> str | None:
    """The cursor after a page of `size` of `rows` (fetched one more than a page, ordered by opening
    time then id), also sent as a `Link` header; None on the last page."""
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = encode_cursor({"o": last.opened_at.isoformat(), "i": last.id})
    response.headers.update(next_link(request, "cursor", next_cursor))
    return next_cursor


def opening_cursor(cursor: str) -> CaseCursor:
    position = decode_cursor(cursor)
    try:
        opened_at = datetime.fromisoformat(position["o"])
        if opened_at.tzinfo is None:  # the gateway's cursors always carry their offset
            raise ValueError("a naive time")
        return CaseCursor(opened_at=opened_at.astimezone(UTC), id=str(position["i"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ProblemError("invalid-cursor", "use the cursor exactly as the previous page returned it") from None
