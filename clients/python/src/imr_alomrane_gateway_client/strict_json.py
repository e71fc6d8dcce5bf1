"""Reading JSON as every reader would read it (RFC 8259, I-JSON RFC 7493), or not at all.

Python's `json.loads` is lenient where readers disagree: given bytes it guesses UTF-16 or UTF-32,
skips a byte order mark and lets `surrogatepass` through; it keeps the last of two members with one
name (other readers keep the first, or refuse); it reads `NaN` and `Infinity`; and it turns a
`\\ud800` escape into a string that UTF-8 cannot encode. Evidence is kept as bytes and read again
elsewhere, so anything two readers could read differently is refused here. Used for request bodies
(gateway.api.bodies) and for the header and claims of a JWS (imr_alomrane_gateway_client.signing). Pure.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

# Cheap test before the exact one: only text escaping a surrogate can denote a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class NotStrictJson(ValueError):
    """Why bytes are not strict JSON; `slug` names the problem type a request body gets for it."""

    def __init__(self, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.slug, self.detail = slug, detail


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        twice = next(name for name, count in Counter(name for name, _ in pairs).items() if count > 1)
        raise NotStrictJson("duplicate-json-key", f"the member {json.dumps(twice)} appears twice in one object")
    return members


def _constant(name: str) -> None:
    raise NotStrictJson("malformed-request", f"{name} is not a JSON number")


# Made once: `json.loads` with hooks would build a decoder on every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant)


def loads(data: bytes) -> Any:
    """The value `data` holds, if it is UTF-8 JSON text that every reader reads the same way."""
    try:
        text = data.decode("utf-8")  # strict: refuses UTF-16, UTF-32, invalid sequences and encoded surrogates
    except UnicodeDecodeError:
        raise NotStrictJson("body-not-utf8", "JSON text must be UTF-8 (RFC 8259 §8.1)") from None
    if text.startswith("\ufeff"):
        raise NotStrictJson("body-not-utf8", "JSON text must not begin with a byte order mark (RFC 8259 §8.1)")
    try:
        value = _DECODER.decode(text)
    except NotStrictJson:
        raise
    except json.JSONDecodeError as error:
        raise NotStrictJson("malformed-request", f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    except (ValueError, RecursionError):  # integers of thousands of digits, nesting deeper than the parser goes
        raise NotStrictJson("malformed-request", "not JSON this gateway can read") from None
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        raise NotStrictJson("body-not-utf8", "a \\u escape names a lone surrogate, which UTF-8 cannot encode (RFC 8259 §8.2)")
    return value


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
