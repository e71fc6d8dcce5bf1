"""RFC 8785 JSON Canonicalization Scheme (JCS), for the values a ledger entry holds: objects with
string keys, strings, integers, booleans and null (arrays too). What an outside verifier hashes
must come out byte for byte the same in any language, so this is JCS exactly, not "sorted JSON":

- objects: members sorted by their keys' UTF-16 code units (RFC 8785 §3.2.3), no whitespace;
- strings (§3.2.2.2, ECMAScript's JSON.stringify): `"` and `\\` escaped as `\\"` and `\\\\`; U+0008,
  U+0009, U+000A, U+000C, U+000D as `\\b`, `\\t`, `\\n`, `\\f`, `\\r`; every other character below
  U+0020 as `\\u00xx` (lowercase hex); every other character as itself, non-ASCII included (no
  `\\u` escape: Arabic, accented Latin and astral characters are their UTF-8 bytes), DEL too;
- numbers (§3.2.2.3): an integer in plain decimal, no sign for zero, no exponent. Only integers of
  magnitude below 2^53 are accepted (JCS writes the IEEE 754 double nearest a number: beyond that
  it is another number), and no fraction (an entry has none);
- the whole: UTF-8 (§3.2.4), with no byte order mark.

A lone surrogate has no UTF-8 form and is refused, as strict_json refuses it on the way in.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ORDERED_APART = re.compile("[\ud800-\U0010ffff]")  # where code-point order and UTF-16 order part


def canonical(value: Any) -> bytes:
    """The JCS bytes of `value`; ValueError for what JCS cannot carry exactly (see the module).

    A ledger entry (ASCII keys, strings, safe integers, null) takes the standard library's encoder,
    which then writes the same bytes as `_text` at a seventh of its cost: its string escapes are
    JSON.stringify's, and its key order (by code point) is UTF-16's for keys below U+D800. A lone
    surrogate still fails, as it cannot be encoded in UTF-8."""
    if _plain(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return _text(value).encode("utf-8")


def _plain(value: Any) -> bool:
    """Whether `value` holds only what JCS carries exactly, in objects whose keys sort alike by code
    point and by UTF-16 code unit."""
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, int):  # bool included: True and False are written alike
        return abs(value) <= MAX_SAFE_INTEGER
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and (key.isascii() or not _ORDERED_APART.search(key)) and _plain(item)
                   for key, item in value.items())
    return False


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{value} is beyond the integers JCS writes exactly (magnitude at most 2^53 - 1)")
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_text(item) for item in value) + "]"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("object keys are strings")
        ordered = sorted(value, key=lambda key: key.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(_string(key) + ":" + _text(value[key]) for key in ordered) + "}"
    raise ValueError(f"a {type(value).__name__} has no canonical form here (an entry holds strings, integers and null)")


def _string(text: str) -> str:
    """Python's encoder without ensure_ascii escapes exactly what JSON.stringify does (module docstring)."""
    if _LONE_SURROGATE.search(text):
        raise ValueError("a lone surrogate has no UTF-8 form")
    return json.dumps(text, ensure_ascii=False)
