"""`Content-Disposition` read strictly, as RFC 6266 §4.1 writes it (with RFC 9110 §5.6 for tokens
and quoted strings, RFC 8187 §3.2 for extended values):

    content-disposition = disposition-type *( OWS ";" OWS disposition-parm )
    disposition-type    = "inline" / "attachment" / token            ; case-insensitive
    disposition-parm    = token OWS "=" OWS ( token / quoted-string ) ; "filename"
                        / ext-token OWS "=" OWS ext-value             ; "filename*"
    ext-token           = token ending in "*"
    quoted-string       = DQUOTE *( qdtext / quoted-pair ) DQUOTE
    qdtext              = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
    quoted-pair         = "\\" ( HTAB / SP / VCHAR / obs-text )
    ext-value           = charset "'" [ language ] "'" *( pct-encoded / attr-char )

A quoted string is one value, whatever it holds (`"a.pdf; filename*=…"` is a name with a
semicolon in it, not a second parameter). Refused, rather than guessed at: a parameter given twice
(names compare case-insensitively), an extended value in any charset but UTF-8, percent-encoding
that is cut short or not UTF-8, and anything the grammar does not produce (a missing `=`, an
unclosed quote, a stray or trailing `;`). The standard library's `email` parser was not used: it
follows RFC 2231 for mail (continuations, any charset) and records defects instead of refusing.

Header values arrive decoded as ISO-8859-1, one character per octet, so obs-text is U+0080–00FF.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

_OWS = re.compile(r"[ \t]*")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"')
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_EXT_VALUE = re.compile(r"([^']*)'([A-Za-z0-9-]*)'(.*)", re.DOTALL)
_VALUE_CHARS = re.compile(r"(?:%[0-9A-Fa-f]{2}|[!#$&+\-.^_`|~0-9A-Za-z])*")


class DispositionError(ValueError):
    """The header is not one the grammar above produces; the message says where, never the value."""


def parse(header: str) -> tuple[str, dict[str, str]]:
    """The disposition type (lower-cased) and the parameters (names lower-cased, values decoded:
    quoted pairs unescaped, extended values percent-decoded from UTF-8)."""
    reader = _Reader(header)
    kind = reader.token("a disposition type (attachment)").lower()
    parameters: dict[str, str] = {}
    while not reader.at_end():
        reader.expect(";")
        name = reader.token("a parameter name after ';'").lower()
        reader.expect("=")
        if name in parameters:
            raise DispositionError(f"the parameter {name} is given twice")
        parameters[name] = _extended(reader.token(f"an extended value for {name}"), name) if name.endswith("*") else reader.value(name)
    return kind, parameters


def _extended(raw: str, name: str) -> str:
    """RFC 8187 §3.2: charset'language'value-chars, UTF-8 only (the charset every sender can use)."""
    parts = _EXT_VALUE.fullmatch(raw)
    if parts is None:
        raise DispositionError(f"{name} is charset'language'value (UTF-8''…)")
    charset, _language, chars = parts.groups()
    if charset.upper() != "UTF-8":
        raise DispositionError(f"{name} is accepted in UTF-8 only")
    if not _VALUE_CHARS.fullmatch(chars):
        raise DispositionError(f"{name} has a character that must be percent-encoded, or a '%' not followed by two hex digits")
    try:
        return unquote_to_bytes(chars).decode("utf-8")
    except UnicodeDecodeError:
        raise DispositionError(f"{name} is not percent-encoded UTF-8") from None


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.position = text, 0

    def at_end(self) -> bool:
        self._skip_space()
        return self.position == len(self.text)

    def expect(self, separator: str) -> None:
        self._skip_space()
        if not self.text.startswith(separator, self.position):
            raise DispositionError(f"expected '{separator}' at character {self.position + 1}")
        self.position += 1
        self._skip_space()

    def token(self, what: str) -> str:
        return self._take(_TOKEN, what).group()

    def value(self, name: str) -> str:
        if self.text.startswith('"', self.position):
            quoted = self._take(_QUOTED, f"a closed quoted string for {name}")
            return _QUOTED_PAIR.sub(r"\1", quoted.group(1))
        return self.token(f"a value for {name}")

    def _take(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        found = pattern.match(self.text, self.position)
        if found is None:
            raise DispositionError(f"expected {what} at character {self.position + 1}")
        self.position = found.end()
        return found

    def _skip_space(self) -> None:
        self.position = _OWS.match(self.text, self.position).end()
