"""HTTP byte ranges (RFC 9110 §14): one range per request. A Range header the gateway does not
serve (several ranges, another unit, bad syntax) is ignored, as the RFC allows: the whole
document is sent. A well-formed range outside the document answers 416."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.problems import ProblemError

# ASCII digits, at most 19 (any byte offset fits): a longer number is bad syntax, so it is ignored.
_SINGLE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive


def parse_range(header: str, size: int) -> ByteRange | None:
    match = _SINGLE.fullmatch(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(size - length, 0), size)
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise _unsatisfiable(size)
    return ByteRange(start, end)


def _unsatisfiable(size: int) -> ProblemError:
    return ProblemError("range-not-satisfiable", f"the document has {size} bytes", headers={"Content-Range": f"bytes */{size}"})
