"""The one rule for names a person reads (a complainant's, a housing project's, an institution's,
a document's file name): every character in a name can be seen, so two names that look alike
are alike, and nothing in one can reorder or hide what is shown around it.

Names are kept exactly as sent, never normalised: Arabic, French, Tifinagh, combining marks all
round-trip byte for byte. Refused, in Unicode terms:

- category C: controls (C0, DEL, C1: U+0000–001F, U+007F–009F), format characters (Cf: the
  bidirectional embeddings, overrides and isolates U+202A–202E and U+2066–2069, the marks U+200E,
  U+200F and U+061C, the zero-width space U+200B, U+2060–2064, U+FEFF, the soft hyphen U+00AD…),
  surrogates, private use and unassigned code points, which the two institutions' systems could
  not be trusted to show alike;
- the line and paragraph separators U+2028 and U+2029: a name is one line.

The joiners ZWNJ (U+200C) and ZWJ (U+200D) are format characters too, but the ZWNJ is part of
the spelling of Persian, Kurdish or Urdu words and names written in Arabic script (می‌خواهم,
the compound surnames of Iranian or Afghan complainants): between a letter that joins on its left
and one that joins on its right it stops the two joining, which changes what is seen. So a joiner
is kept exactly where the IDNA rule of RFC 5892 (Appendix A.1 and A.2, CONTEXTJ) says it changes
the rendering, checked with the `idna` library's Unicode joining data: ZWNJ in that Arabic-script
joining context or after a virama, ZWJ after a virama (Indic scripts). Anywhere else (between
Latin letters, at an edge, next to a space, ZWJ between Arabic letters, where it only forces a
joined shape and no name needs it) a joiner is invisible and refused.
"""

from __future__ import annotations

import unicodedata

import idna

_JOINERS = frozenset("\u200c\u200d")
_LINE_BREAKS = frozenset({"Zl", "Zp"})


def _shown(name: str, position: int) -> bool:
    character = name[position]
    if character in _JOINERS:
        try:
            return idna.valid_contextj(name, position)
        except ValueError:  # a neighbour Unicode does not name, or a name too long for the rule
            return False
    category = unicodedata.category(character)
    return not (category.startswith("C") or category in _LINE_BREAKS)


def hidden_character(name: str) -> str | None:
    """The first character of `name` that cannot be seen, as `U+202E RIGHT-TO-LEFT OVERRIDE`
    (a description of the character, never the name), or None when every one can be."""
    for position, character in enumerate(name):
        if not _shown(name, position):
            return f"U+{ord(character):04X} {unicodedata.name(character, '')}".rstrip()  # controls have no name
    return None
