"""The canonical entry encoding is RFC 8785 (JCS): checked against the RFC's own examples and
against bytes worked out by hand from its rules for Arabic, French and astral text (no independent
JCS implementation is installed), and shown to be the bytes the ledger wrote before it named JCS
for every value an entry has held (printable ASCII), so no existing leaf hash changes."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings, strategies as st

from imr_alomrane_gateway_client.ledger import jcs
from imr_alomrane_gateway_client.ledger.entry import Entry

# RFC 8785 §3.2.2.2's example, its numbers left out (an entry holds integers only): the input's string
# is "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/".
RFC_STRING = "\u20ac$\u000f\nA'B\"\\\\\"/"
RFC_OUTPUT = b'{"literals":[null,true,false],"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'

# RFC 8785 §3.2.3: members sort by UTF-16 code units, so the emoji (a surrogate pair, D83D DE00)
# comes before U+FB33, although its code point is larger.
RFC_SORTING = {
    "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
    "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis",
}
RFC_SORTED = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]

ASCII_ENTRY = dict(
    seq=12, at="2026-11-24T07:36:25.123456Z", kind="message_sent", detail="final_reply", sender="al-omrane", recipient="imr",
    case="3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1", resource="/v1/cases/3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1/messages/9d1e",
    payload_digest="sha-256=:Nk/sCHYBAZXn6ai/UQm2t/4GaaTpg3DQz5dk5R9+IUg=:", signature_digest="sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
    sender_unit="al-omrane-casablanca-settat", recipient_unit="imr-casablanca-settat", region="casablanca-settat", due=None, refers=None,
)


def test_the_rfc_string_example():
    assert jcs.canonical({"string": RFC_STRING, "literals": [None, True, False]}) == RFC_OUTPUT


def test_the_rfc_sorting_example_by_utf16_code_units():
    assert list(json.loads(jcs.canonical(RFC_SORTING))) == RFC_SORTED
    assert sorted(RFC_SORTING) != RFC_SORTED  # code point order would put the emoji last: the difference is tested


def test_arabic_french_and_astral_text_are_their_utf8_bytes_and_controls_are_escaped():
    entry = Entry(**{**ASCII_ENTRY, "detail": "réponse définitive", "sender_unit": "العمران", "refers": "ⵜⴰⵎⴰⵣⵉⵖⵜ 😀",
                     "region": "\u007f\u0000\u001f\b\t\n\f\r\"\\/\u2028"})
    expected = (
        b'{"at":"2026-11-24T07:36:25.123456Z","case":"3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1",'
        b'"detail":"r\xc3\xa9ponse d\xc3\xa9finitive",'  # é: U+00E9, C3 A9
        b'"due":null,"kind":"message_sent","payload_digest":"sha-256=:Nk/sCHYBAZXn6ai/UQm2t/4GaaTpg3DQz5dk5R9+IUg=:",'
        b'"recipient":"imr","recipient_unit":"imr-casablanca-settat",'
        # Tifinagh U+2D5C U+2D30 U+2D4E U+2D30 U+2D63 U+2D49 U+2D56 U+2D5C (E2 B5 9C …), a space, U+1F600 (F0 9F 98 80: one
        # character, four bytes, never a \ud83d\ude00 pair)
        b'"refers":"\xe2\xb5\x9c\xe2\xb4\xb0\xe2\xb5\x8e\xe2\xb4\xb0\xe2\xb5\xa3\xe2\xb5\x89\xe2\xb5\x96\xe2\xb5\x9c \xf0\x9f\x98\x80",'
        # DEL and U+2028 as themselves; below U+0020 the short escapes, else \u00xx in lowercase hex; " and \ escaped, / not
        b'"region":"\x7f\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\/\xe2\x80\xa8",'
        b'"resource":"/v1/cases/3f0c9a56-1b7e-4c55-9d0e-2a8d41c7e0b1/messages/9d1e","sender":"al-omrane",'
        b'"sender_unit":"\xd8\xa7\xd9\x84\xd8\xb9\xd9\x85\xd8\xb1\xd8\xa7\xd9\x86",'  # U+0627 U+0644 U+0639 U+0645 U+0631 U+0627 U+0646
        b'"seq":12,"signature_digest":"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:","v":2}'
    )
    assert entry.canonical() == expected
    assert entry.leaf_hash() == hashlib.sha256(b"\x00" + expected).digest()
    assert entry.canonical() != _before_jcs(entry)  # which escaped every non-ASCII character: not JCS, so it changed


printable_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=200, deadline=None)
@given(strings=st.fixed_dictionaries({name: printable_ascii for name, value in ASCII_ENTRY.items() if isinstance(value, str)}),
       seq=st.integers(1, jcs.MAX_SAFE_INTEGER), version=st.sampled_from([1, 2]))
def test_on_printable_ascii_jcs_is_the_encoding_the_ledger_always_wrote(strings, seq, version):
    """Every value an entry has held is printable ASCII (the module docstring of imr_alomrane_gateway_client.ledger.entry
    says why): there the bytes, so every existing leaf hash, are what they were."""
    entry = Entry(**{**ASCII_ENTRY, **strings, "seq": seq, "v": version})
    assert entry.canonical() == _before_jcs(entry)


def _before_jcs(entry: Entry) -> bytes:
    """What Entry.canonical wrote before it named JCS."""
    return json.dumps(entry.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@pytest.mark.parametrize("value", [2**53, -(2**53), 0.5, float("nan"), "\ud800", {1: "x"}, b"bytes"])
def test_what_jcs_would_not_carry_exactly_is_refused(value):
    with pytest.raises(ValueError):
        jcs.canonical({"value": value})


def test_integers_up_to_two_to_the_53_minus_one_are_plain_decimal():
    assert jcs.canonical([0, -0, 1, -1, jcs.MAX_SAFE_INTEGER, -jcs.MAX_SAFE_INTEGER]) == b"[0,0,1,-1,9007199254740991,-9007199254740991]"
