"""The catalogue: evidence the recipient could not verify, or could read otherwise. A request
signature is accepted only in canonical compact form with exactly the documented header; a JSON
body only as UTF-8 without a byte order mark, a member twice or a lone surrogate.

Tokens are forged with the test signing key over their exact signing input, so each one is, for
python-jose's lenient reading, a valid signature: what refuses it is the canonical-form rule."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from imr_alomrane_gateway_client.signers import load_private_key
from imr_alomrane_gateway_client.signing import REQUEST_TYPE, Signer, request_claims
from tests.factories import case_payload
from tests.hostile.builders import app, database_url, engine_sql, settings  # noqa: F401 (one gateway for the module)

AUDIENCE = "imr-alomrane-gateway"
MALFORMED, REFUSED = "signature-malformed", "signature-algorithm-refused"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_text(value: object) -> bytes:
    """Compact JSON, with a trailing space (JSON whitespace) if need be, so that its base64url has
    a partial last quad: padding then always shows."""
    text = json.dumps(value, separators=(",", ":")).encode()
    return text + b" " * (len(text) % 3 == 0)


@dataclass
class Forger:
    """Compact JWS made by hand with IMR's signing key, for the POST of `body` to /v1/cases."""

    private: ec.EllipticCurvePrivateKey
    kid: str
    body: bytes

    def header(self, **changes: object) -> bytes:
        return json_text({"alg": "ES256", "kid": self.kid, "typ": REQUEST_TYPE, **changes})

    def claims(self, **changes: object) -> bytes:
        # "~~~" and "???" put a `-` and a `_` in the claims' base64url, whatever their alignment.
        jti = "~~~???" + secrets.token_urlsafe(9)
        return json_text({**request_claims("imr", AUDIENCE, "POST", "/v1/cases", self.body, jti=jti), **changes})

    def sign(self, signing_input: str) -> str:
        r, s = decode_dss_signature(self.private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def token(self, header: bytes | None = None, claims: bytes | None = None, *, segment: int | None = None,
              form: Callable[[str], str] = lambda text: text) -> str:
        """`form` rewrites one segment (0 header, 1 claims, 2 signature); the signature covers the
        rewritten header and claims, as a lenient signer would have signed them."""
        signed = [b64url(header or self.header()), b64url(claims or self.claims())]
        if segment is not None and segment < 2:
            rewritten = form(signed[segment])
            assert rewritten != signed[segment], "this form leaves the segment as it was"
            signed[segment] = rewritten
        signing_input = ".".join(signed)
        for _ in range(100):  # a signature is random: sign again until the form has something to rewrite
            signature = self.sign(signing_input)
            if segment != 2 or form(signature) != signature:
                return f"{signing_input}.{form(signature) if segment == 2 else signature}"
        raise AssertionError("no signature this form rewrites")


@pytest.fixture
def forger(test_pki) -> Forger:
    private = load_private_key(test_pki.dev.clients["imr"].signing_key)
    body = json.dumps(case_payload(), ensure_ascii=False).encode()
    return Forger(private, Signer.from_private_key(private).kid, body)


@pytest.fixture
def unsigned_imr(client_for):
    return client_for("imr", sign=False)


def post(client, forger: Forger, token: str):
    return client.post("/v1/cases", content=forger.body, headers={"Content-Type": "application/json", "Request-Signature": token})


SEGMENT_FORMS: dict[str, Callable[[str], str]] = {
    "padding": lambda text: text + "=" * (-len(text) % 4),
    # Four characters, so that python-jose's padding arithmetic still comes out and it reads the token.
    "space": lambda text: text[:8] + " " * 4 + text[8:],
    "newline": lambda text: text[:8] + "\r\n" * 2 + text[8:],
    "plus": lambda text: text.replace("-", "+"),  # the standard base64 alphabet instead of base64url
    "slash": lambda text: text.replace("_", "/"),
}
# A header is ASCII JSON of fixed members: its base64url never holds `-` or `_`, so the standard
# alphabet cannot differ there.
SEGMENT_CASES = [
    (name, segment)
    for segment, forms in ((0, ("padding", "space", "newline")), (1, SEGMENT_FORMS), (2, SEGMENT_FORMS))
    for name in forms
]


def test_a_forged_token_in_canonical_form_is_accepted(unsigned_imr, forger):
    """The forger makes valid tokens: each refusal below is the form's doing."""
    assert post(unsigned_imr, forger, forger.token()).status_code == 201


@pytest.mark.parametrize(("form", "segment"), SEGMENT_CASES, ids=[f"{form}-in-{('header', 'claims', 'signature')[segment]}"
                                                                   for form, segment in SEGMENT_CASES])
def test_a_segment_not_in_canonical_base64url_is_refused(refusals, unsigned_imr, forger, form, segment):
    refusals.check(post(unsigned_imr, forger, forger.token(segment=segment, form=SEGMENT_FORMS[form])), 401, MALFORMED)


@pytest.mark.parametrize("cut", [
    lambda token: token.rpartition(".")[0],  # two segments
    lambda token: token + "." + token.rpartition(".")[2],  # four
    lambda token: token.replace(".", "..", 1),  # an empty segment in between
], ids=["two-segments", "four-segments", "empty-segment"])
def test_a_token_of_other_than_three_segments_is_refused(refusals, unsigned_imr, forger, cut):
    refusals.check(post(unsigned_imr, forger, cut(forger.token())), 401, MALFORMED)


@pytest.mark.parametrize("changes", [
    {"b64": False},
    {"b64": False, "crit": ["b64"]},
    {"cty": "JWT"},
    {"x-trace": "0af7651916cd43dd"},
    {"typ": None},
    {"typ": "JWT"},
    {"typ": "gateway-receipt+jwt"},
], ids=["b64-false", "b64-false-crit", "cty", "unknown-member", "typ-null", "typ-jwt", "typ-receipt"])
def test_a_header_other_than_alg_kid_typ_is_refused(refusals, unsigned_imr, forger, changes):
    refusals.check(post(unsigned_imr, forger, forger.token(header=forger.header(**changes))), 401, REFUSED)


def test_a_header_without_typ_is_refused(refusals, unsigned_imr, forger):
    header = json_text({"alg": "ES256", "kid": forger.kid})
    refusals.check(post(unsigned_imr, forger, forger.token(header=header)), 401, REFUSED)


def _duplicate_first(text: bytes, name: str, first: object) -> bytes:
    """`text` with a member `name` added before the one it has: readers keeping the first see `first`."""
    return text.replace(b"{", b"{" + json.dumps(name).encode() + b":" + json.dumps(first).encode() + b",", 1)


@pytest.mark.parametrize("make", [
    lambda f: {"header": _duplicate_first(f.header(), "alg", "none")},
    lambda f: {"claims": _duplicate_first(f.claims(), "htu", "/v1/cases/someone-else")},
    lambda f: {"claims": f.claims().decode().encode("utf-16")},
    lambda f: {"claims": f.claims().decode().encode("utf-16-le")},
    lambda f: {"claims": b"\xef\xbb\xbf" + f.claims()},
    lambda f: {"claims": f.claims(jti="~~~???-surrogate").replace(b"~~~", b"\xed\xa0\x80")},  # an encoded surrogate
    lambda f: {"claims": f.claims(jti="\ud800-lone-surrogate")},  # json_text escapes it: "\ud800"
    lambda f: {"claims": f.claims(iat=float("nan"))},
    lambda f: {"claims": json_text([f.claims().decode()])},
], ids=["duplicate-alg", "duplicate-htu", "utf16-bom", "utf16-le", "utf8-bom", "encoded-surrogate", "lone-surrogate-escape",
        "nan", "not-an-object"])
def test_a_header_or_claim_set_that_is_not_strict_json_is_refused(refusals, unsigned_imr, forger, make):
    refusals.check(post(unsigned_imr, forger, forger.token(**make(forger))), 401, MALFORMED)


# Bodies: signed correctly (the SDK signs the exact bytes), refused for what they are.

_TEXT = json.dumps(case_payload(reference="IMR/2026/HOSTILE"), ensure_ascii=False)


def _with_member_twice(text: str, where: str, name: str, first: str) -> bytes:
    """`text` whose object at `where` (a member's name, or "" for the top) names `name` twice,
    the first time with `first`: the gateway used to read the last, other readers the first."""
    opening = "{" if not where else f'"{where}": {{'
    return text.replace(opening, f'{opening}"{name}": {json.dumps(first)}, ', 1).encode()


BODIES = {
    "utf16-bom": (_TEXT.encode("utf-16"), "application/json", "body-not-utf8"),
    "utf16-le": (_TEXT.encode("utf-16-le"), "application/json", "body-not-utf8"),
    "utf16-be": (_TEXT.encode("utf-16-be"), "application/json", "body-not-utf8"),
    "utf16-declared": (_TEXT.encode("utf-16-le"), "application/json; charset=utf-16le", "body-not-utf8"),
    "utf32": (_TEXT.encode("utf-32"), "application/json", "body-not-utf8"),
    "utf8-bom": (_TEXT.encode("utf-8-sig"), "application/json", "body-not-utf8"),
    "latin1": (_TEXT.encode().replace("é".encode(), "é".encode("latin-1")), "application/json", "body-not-utf8"),
    "encoded-surrogate": (_TEXT.replace('"summary": "', '"summary": "\ud800', 1).encode("utf-8", "surrogatepass"), "application/json", "body-not-utf8"),
    "lone-high-surrogate-escape": (_TEXT.replace('"summary": "', '"summary": "\\ud800', 1).encode(), "application/json", "body-not-utf8"),
    "lone-low-surrogate-escape": (_TEXT.replace('"title": "', '"title": "\\udfff', 1).encode(), "application/json", "body-not-utf8"),
    "swapped-surrogate-escapes": (_TEXT.replace('"title": "', '"title": "\\ude00\\ud83d', 1).encode(), "application/json", "body-not-utf8"),
    "duplicate-top-level": (_with_member_twice(_TEXT, "", "respondent_id", "ac-casa"), "application/json", "duplicate-json-key"),
    "duplicate-nested": (_with_member_twice(_TEXT, "complainant", "cin", "ZZ999999"), "application/json", "duplicate-json-key"),
    "duplicate-under-a-json-suffix": (_with_member_twice(_TEXT, "project", "city", "Rabat"), "application/merge-patch+json", "duplicate-json-key"),
    "truncated": (_TEXT[:-1].encode(), "application/json", "malformed-request"),
    "not-json": (b"{respondent_id: al-omrane}", "application/json", "malformed-request"),
    "nan": (_TEXT.replace('"subject": "delivery_delays"', '"subject": NaN', 1).encode(), "application/json", "malformed-request"),
}


@pytest.mark.parametrize("name", BODIES)
def test_a_case_body_that_is_not_strict_utf8_json_is_refused(refusals, imr, name):
    content, content_type, slug = BODIES[name]
    assert content != _TEXT.encode()
    refusals.check(imr.post("/v1/cases", content=content, headers={"Content-Type": content_type}), 400, slug)


@pytest.mark.parametrize(("content", "slug"), [
    (b'{"kind": "note", "kind": "acknowledgement", "body": "Dossier bien re\xc3\xa7u."}', "duplicate-json-key"),
    ('{"kind": "acknowledgement", "body": "Dossier bien reçu."}'.encode("utf-16-le"), "body-not-utf8"),
    (b'{"kind": "acknowledgement", "body": "\\udbff"}', "body-not-utf8"),
    (b'{"kind": "acknowledgement", "body": "Dossier bien re', "malformed-request"),
], ids=["duplicate-kind", "utf16-le", "lone-surrogate-escape", "truncated"])
def test_a_message_body_that_is_not_strict_utf8_json_is_refused(refusals, imr, omrane, content, slug):
    case_id = imr.post("/v1/cases", json=case_payload()).json()["id"]
    refusals.arranged()
    sent = omrane.post(f"/v1/cases/{case_id}/messages", content=content, headers={"Content-Type": "application/json"})
    refusals.check(sent, 400, slug)


def test_escapes_that_utf8_can_encode_are_accepted(imr, omrane):
    """A surrogate pair escapes one character; an escaped backslash before `ud800` is text."""
    created = imr.post("/v1/cases", content=_TEXT.replace('"summary": "', '"summary": "\\ud83c\\udfe0 \\\\ud800 ', 1).encode(),
                       headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    assert omrane.get(created.headers["location"]).json()["summary"].startswith("\U0001f3e0 \\ud800 ")
