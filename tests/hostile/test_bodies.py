"""The catalogue: request bodies built to break the parser, the limits or the contract. A body is
read before anything else about the request is known to be honest, so each of these must be a
4xx problem that costs little, writes nothing, and (for what parses) names the failing field
without echoing what was sent."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.factories import case_payload, message
from tests.hostile.builders import REMOVED
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

JSON = "application/json"


def raw(data: bytes, content_type: str = JSON) -> dict[str, Any]:
    return {"content": data, "headers": {"Content-Type": content_type}}


def case_bytes(encoding: str = "utf-8") -> bytes:
    return json.dumps(case_payload(), ensure_ascii=False).encode(encoding)


def in_the_city(replacement: bytes) -> dict[str, Any]:
    """A valid case body, its project's city bytes replaced (in the middle of a JSON string)."""
    return raw(case_bytes().replace(b"Casablanca", replacement, 1))


def changed(pointer: str, value: Any, base: dict | None = None) -> dict[str, Any]:
    """A valid case (or `base`) with the value at `pointer` ("complainant/cin") set, or REMOVED."""
    body = copy.deepcopy(base or case_payload())
    *parents, name = pointer.split("/")
    target = body
    for parent in parents:
        target = target[parent]
    if value is REMOVED:
        del target[name]
    else:
        target[name] = value
    return {"json": body}


def a_message(pointer: str, value: Any, kind: str = "note") -> dict[str, Any]:
    return changed(pointer, value, base=message(kind))


@pytest.fixture
def send(imr, omrane):
    """POST a body where it is meant to go: a case to /v1/cases (IMR), a message to a case IMR just
    opened (Al Omrane). Signed by the SDK over the exact bytes, so only the body is wrong."""
    targets: dict[str, str] = {}

    def post(where: str, request: dict[str, Any]):
        if where == "case":
            return imr.post("/v1/cases", **request)
        if "message" not in targets:
            targets["message"] = imr.post("/v1/cases", json=case_payload()).json()["id"]
        return omrane.post(f"/v1/cases/{targets['message']}/messages", **request)

    return post


def _check(refusals, send, where: str, request: dict[str, Any], status: int, slug: str, pointer: str | None = None):
    if where == "message":
        send("message", {"json": message("note")})  # the case exists before the baseline
    refusals.arranged()
    refused = send(where, request)
    refusals.check(refused, status, slug)
    if pointer is not None:
        assert [error.get("pointer") for error in refused.json()["errors"]] == [pointer], refused.text
    return refused


def nested(depth: int, open_: str = "[", close: str = "]", inner: str = "1") -> bytes:
    return (open_ * depth + inner + close * depth).encode()


DEEP = {
    "arrays 100,000 deep": lambda: raw(nested(100_000)),
    "objects 50,000 deep": lambda: raw(nested(50_000, '{"a":', "}")),
    "arrays and objects alternating, 30,000 deep": lambda: raw(nested(30_000, '[{"a":', "}]")),
    "a field 100,000 arrays deep": lambda: raw(case_bytes()[:-1] + b', "title": ' + nested(100_000) + b"}"),
}


@pytest.mark.parametrize("body", DEEP)
def test_deep_nesting_is_malformed_not_a_crash(refusals, send, body):
    """A recursive parser meets its stack limit: that must be a 400, not a worker lost to a RecursionError."""
    _check(refusals, send, "case", DEEP[body](), 400, "malformed-request")


# (where, request, pointer of the one failing field)
BEYOND_LIMITS = {
    "a title of 301 characters": ("case", lambda: changed("title", "ت" * 301), "#/title"),
    "a summary of 20,001 characters": ("case", lambda: changed("summary", "s" * 20_001), "#/summary"),
    "a requested action of 5,001 characters": ("case", lambda: changed("requested_action", "r" * 5_001), "#/requested_action"),
    "a complainant's name of 201 characters": ("case", lambda: changed("complainant/full_name", "ف" * 201), "#/complainant/full_name"),
    "an address of 501 characters": ("case", lambda: changed("complainant/address", "a" * 501), "#/complainant/address"),
    "a message body of 20,001 characters": ("message", lambda: a_message("body", "m" * 20_001), "#/body"),
    "51 documents in a message": ("message", lambda: a_message("documents", [f"00000000-0000-4000-8000-{n:012d}" for n in range(51)]),
                                  "#/documents"),
    "100,000 numbers in an unknown field": ("case", lambda: changed("padding", list(range(100_000))), "#/padding"),
    "900,000 characters in an unknown field": ("case", lambda: changed("padding", "p" * 900_000), "#/padding"),
}


@pytest.mark.parametrize("body", BEYOND_LIMITS)
def test_what_exceeds_a_field_s_limit_is_refused_by_name(refusals, send, body):
    """Under the body limit but over a field's: the contract's bounds are what storage and
    screens are sized for."""
    where, request, pointer = BEYOND_LIMITS[body]
    _check(refusals, send, where, request(), 422, "validation-failed", pointer)


def test_twenty_thousand_unknown_keys_are_refused(refusals, send):
    body = case_payload() | {f"k{n}": n for n in range(20_000)}
    refused = _check(refusals, send, "case", {"json": body}, 422, "validation-failed")
    assert all(error["code"] == "extra_forbidden" for error in refused.json()["errors"])


def _chunks(total: int, size: int = 64 * 1024):
    while total > 0:
        yield b" " * min(size, total)
        total -= size


TOO_LARGE = {
    "a case over 1 MiB, its length declared": ("case", lambda: {"json": case_payload(summary="س" * 600_000)}),
    "one byte over 1 MiB": ("case", lambda: raw(b" " * (1024 * 1024 + 1))),
    "a case over 1 MiB, streamed without a length": ("case", lambda: {"content": _chunks(1024 * 1024 + 1), "headers": {"Content-Type": JSON}}),
    "a message over 1 MiB": ("message", lambda: {"json": message("note", "م" * 600_000)}),
}


@pytest.mark.parametrize("body", TOO_LARGE)
def test_bodies_over_the_limit_are_413_before_parsing(refusals, send, body):
    where, request = TOO_LARGE[body]
    _check(refusals, send, where, request(), 413, "payload-too-large")


WRONG_CONTENT_TYPES = ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


@pytest.mark.parametrize("content_type", WRONG_CONTENT_TYPES)
def test_a_json_endpoint_refuses_another_media_type(refusals, send, content_type):
    _check(refusals, send, "case", raw(case_bytes(), content_type), 415, "unsupported-media-type")


NOT_UTF8 = {
    "a byte that is never UTF-8": lambda: in_the_city(b"Casa\xffblanca"),
    "an overlong encoding of '/'": lambda: in_the_city(b"Casa\xc0\xafblanca"),
    "a sequence cut short": lambda: in_the_city(b"Casa\xd8"),
    "Latin-1 accents": lambda: raw(json.dumps(case_payload(title="Délai dépassé"), ensure_ascii=False).encode("latin-1", "replace")),
}


@pytest.mark.parametrize("body", NOT_UTF8)
def test_bytes_that_are_not_utf8_are_refused(refusals, send, body):
    """JSON is UTF-8 (RFC 8259 §8.1), and the exact bytes are kept as the signed evidence."""
    _check(refusals, send, "case", NOT_UTF8[body](), 400, "body-not-utf8")


OTHER_ENCODINGS = {"UTF-16 with a BOM": "utf-16", "UTF-16LE without a BOM": "utf-16-le", "UTF-32": "utf-32"}


@pytest.mark.parametrize("encoding", OTHER_ENCODINGS)
def test_json_in_another_unicode_encoding_is_refused(refusals, send, encoding):
    """json.loads would read these: the signed bytes would then mean nothing to a UTF-8 reader."""
    _check(refusals, send, "case", raw(case_bytes(OTHER_ENCODINGS[encoding])), 400, "body-not-utf8")


def test_utf8_encoded_surrogates_are_refused(refusals, send):
    _check(refusals, send, "case", in_the_city(b"Casa\xed\xa0\x80blanca"), 400, "body-not-utf8")


def test_an_escaped_lone_surrogate_is_refused(refusals, send):
    """Valid JSON syntax, but no Unicode text: UTF-8 cannot hold it."""
    _check(refusals, send, "case", in_the_city(b"Casa\\ud800blanca"), 400, "body-not-utf8")


NUL_IN_TARGETS = {
    "in the path of a read": ("GET", "/v1/cases/%00"),
    "in the query of a read": ("GET", "/v1/cases?status=%00"),
    "in the query of a write": ("POST", "/v1/cases?x=%00"),
    "in a document's path": ("GET", "/v1/cases/x/documents/%00/content"),
}


@pytest.mark.parametrize("where", NUL_IN_TARGETS)
def test_nul_in_a_target_is_malformed(refusals, imr, where):
    """PostgreSQL refuses NUL in text, SQLite keeps it: refused at the edge, on both engines alike."""
    method, target = NUL_IN_TARGETS[where]
    refusals.check(imr.request(method, target, json=case_payload() if method == "POST" else None), 400, "malformed-request")


NUL_IN_BODIES = {
    "in the title": ("case", lambda: changed("title", "avant\x00après"), "#/title"),
    "in the complainant's name": ("case", lambda: changed("complainant/full_name", "\x00"), "#/complainant/full_name"),
    "in a message body": ("message", lambda: a_message("body", "fin\x00"), "#/body"),
    "in a key": ("case", lambda: changed("ti\x00tle", "x"), "#/ti\x00tle"),
}


INVALID_JSON = {
    "not JSON": lambda: raw(b"{not json"),
    "cut short": lambda: raw(case_bytes()[:-5]),
    "garbage after the object": lambda: raw(case_bytes() + b"}{"),
    "a raw NUL inside a string": lambda: in_the_city(b"Casa\x00blanca"),
}


@pytest.mark.parametrize("body", INVALID_JSON)
def test_invalid_json_is_malformed(refusals, send, body):
    _check(refusals, send, "case", INVALID_JSON[body](), 400, "malformed-request")


NOT_AN_OBJECT = {"a list": lambda: raw(b"[1, 2]"), "null": lambda: raw(b"null"), "a string": lambda: raw(b'"case"'), "a number of 5,000 digits": lambda: raw(b"1" * 5_000)}


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
def test_a_body_that_is_not_an_object_is_malformed(refusals, send, body):
    _check(refusals, send, "case", NOT_AN_OBJECT[body](), 400, "malformed-request")


UNKNOWN_FIELDS = {
    "the case's status": ("case", lambda: changed("status", "closed"), "#/status"),
    "the case's mediator": ("case", lambda: changed("mediator_id", "al-omrane"), "#/mediator_id"),
    "the case's id": ("case", lambda: changed("id", "00000000-0000-4000-8000-000000000000"), "#/id"),
    "the case's version": ("case", lambda: changed("version", 99), "#/version"),
    "a verified flag on the complainant": ("case", lambda: changed("complainant/verified", True), "#/complainant/verified"),
    "an extra field in the project": ("case", lambda: changed("project/budget", 1), "#/project/budget"),
    "a message's sender": ("message", lambda: a_message("sender_id", "imr"), "#/sender_id"),
    "a message's resulting status": ("message", lambda: a_message("status_after", "closed"), "#/status_after"),
}


@pytest.mark.parametrize("field", UNKNOWN_FIELDS)
def test_fields_the_contract_does_not_have_are_refused(refusals, send, field):
    """Unknown fields are refused, not dropped: a caller cannot set what the gateway decides
    (status, sender, ids, versions), and a typo is an error rather than lost data."""
    where, request, pointer = UNKNOWN_FIELDS[field]
    _check(refusals, send, where, request(), 422, "validation-failed", pointer)


WRONG_TYPES = {
    "a title that is a number": ("case", lambda: changed("title", 42), "#/title"),
    "a title that is null": ("case", lambda: changed("title", None), "#/title"),
    "a title that is a list": ("case", lambda: changed("title", ["t"]), "#/title"),
    "a complainant that is a string": ("case", lambda: changed("complainant", "Fatima"), "#/complainant"),
    "no project": ("case", lambda: changed("project", REMOVED), "#/project"),
    "a subject outside the vocabulary": ("case", lambda: changed("subject", ["delivery_delays"]), "#/subject"),
    "a reference that is a path": ("case", lambda: changed("reference", "../../etc/passwd"), "#/reference"),
    "a respondent id in capitals": ("case", lambda: changed("respondent_id", "AL-OMRANE"), "#/respondent_id"),
    "a deadline as a Unix time": ("case", lambda: changed("reply_deadline", 1_900_000_000), "#/reply_deadline"),
    "a deadline without an offset": ("case", lambda: changed("reply_deadline", "2027-01-01T00:00:00"), "#/reply_deadline"),
    "a language the gateway does not speak": ("case", lambda: changed("complainant/preferred_language", "de"), "#/complainant/preferred_language"),
    "a message kind outside the vocabulary": ("message", lambda: a_message("kind", "verdict"), "#/kind"),
    "documents that are a string": ("message", lambda: a_message("documents", "00000000-0000-4000-8000-000000000000"), "#/documents"),
    "a document id that is no UUID": ("message", lambda: a_message("documents", ["../x"]), "#/documents/0"),
    "an outcome on a note": ("message", lambda: a_message("outcome", "favourable"), "#/outcome"),
    "an empty message body": ("message", lambda: a_message("body", ""), "#/body"),
}


REFUSED_BY_NAME = {**{f"NUL {where}": case for where, case in NUL_IN_BODIES.items()}, **WRONG_TYPES}


@pytest.mark.parametrize("field", REFUSED_BY_NAME)
def test_values_of_the_wrong_type_or_shape_or_holding_nul_are_refused_by_name(refusals, send, field):
    """PostgreSQL refuses NUL in text and SQLite keeps it: NUL is refused by the contract, on both."""
    where, request, pointer = REFUSED_BY_NAME[field]
    _check(refusals, send, where, request(), 422, "validation-failed", pointer)
