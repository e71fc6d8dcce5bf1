"""Every header the contract names, declared once: the request headers a client sends and the
response headers it reads (a generated client drops any header the document does not declare).

Declaring a new one is one entry here, and its name in the operations that take or send it
(gateway.api.openapi.operations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.ops.context import REQUEST_ID_HEADER, WELL_FORMED_REQUEST_ID
from imr_alomrane_gateway_client.signing import RECEIPT_HEADER
from gateway.services.idempotency import MAX_KEY_LENGTH

_DIGEST = {"type": "string", "pattern": "^sha-256=:[A-Za-z0-9+/]{43}=:$", "examples": ["sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"]}
_COMPACT_JWS = {"type": "string", "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"}
_ETAG = {"type": "string", "examples": ['"c_01JDQ3M2Y8V7K4T6R9P0ZSX5AB.3"']}

# name → (schema, description); `required` is said where the header is declared on an operation. A
# schema constrains only what the gateway refuses: a header it ignores or replaces when malformed
# (X-Request-ID, Range) says its syntax in words. The request signature is the `requestSignature`
# security scheme (gateway.app), not a parameter.
REQUEST_HEADERS: dict[str, tuple[dict[str, Any], str]] = {
    "Idempotency-Key": (
        {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH + 2, "pattern": "^(\"[!-~]{1,%d}\"|[!-~]{1,%d})$" % (MAX_KEY_LENGTH, MAX_KEY_LENGTH),
         "examples": ["9f1c2e4a-7b7d-4c1e-9a55-3f0d2b8c6e10"]},
        f"1 to {MAX_KEY_LENGTH} visible ASCII characters (U+0021 to U+007E), bare or as a quoted structured-field string. "
        "A retry with the same key, method, target, body and signed headers (signed afresh) gets the first answer and its receipt; "
        "the same key with another request is `idempotency-key-reused` (422); one still running, `idempotency-in-flight` (409). "
        "Keys are kept per institution.",
    ),
    "Content-Digest": ({"type": "string", "examples": _DIGEST["examples"]},
                       "RFC 9530 SHA-256 of the exact body bytes, `sha-256=:<base64>:`: the value the signature's `dig` claim carries."),
    "Content-Disposition": ({"type": "string", "maxLength": 2000, "examples": ["attachment; filename*=UTF-8''%D9%85%D8%AD%D8%B6%D8%B1.pdf"]},
                            "The file name, kept exactly and never used as a path: `attachment; filename*=UTF-8''<percent-encoded name>` "
                            "(RFC 6266, RFC 8187). Signed (`hdr` claim)."),
    "If-Match": (_ETAG, "The case's `ETag` as you read it: refused with 412 `precondition-failed` if the case changed since; `*` or "
                 "no header: whatever it is now."),
    "Range": ({"type": "string", "examples": ["bytes=0-1023"]},
              "One byte range, `bytes=<first>-<last>`, `bytes=<first>-` or `bytes=-<length>` (RFC 9110 §14.2); several ranges, "
              "another unit or bad syntax are ignored (the whole document is sent)."),
    "If-Range": (_ETAG, "The document's `ETag`: the range is served only if it still names this document."),
    REQUEST_ID_HEADER: ({"type": "string", "examples": ["imr-crm:000123"]},
                        f"Your id for this request, `{WELL_FORMED_REQUEST_ID.pattern}`: echoed in `X-Request-ID` and in a problem's "
                        "`request_id` if it is well formed (else the gateway makes one)."),
    "Accept-Language": ({"type": "string", "examples": ["ar, fr;q=0.8"]}, "fr, ar or en: the language of a problem's `title` (French by default)."),
}


@dataclass(frozen=True)
class ResponseHeader:
    """A response header; `on` says which answers send it besides those an operation lists:
    "*" every answer, "problem" every problem, "write" every write's success, a status ("401")
    every problem of that status, an operation id its successes."""

    schema: dict[str, Any]
    description: str
    on: tuple[str, ...] = ()


RESPONSE_HEADERS: dict[str, ResponseHeader] = {
    REQUEST_ID_HEADER: ResponseHeader({"type": "string"}, "This request's id (yours if you sent a well-formed one): quote it to the gateway's operators.",
                                      on=("*",)),
    RECEIPT_HEADER: ResponseHeader(_COMPACT_JWS, "The gateway's signed receipt (compact JWS, `typ` `gateway-receipt+jwt`): verify it with the gateway's "
                     "keys in `/.well-known/jwks.json` and keep it as proof of delivery."),
    "Receipt-Location": ResponseHeader({"type": "string", "examples": ["/v1/receipts/r_01JDQ3M6F2T9WQ8Y5B3N7K1H0C"]}, "Where the receipt is kept: `GET` it again any time."),
    "Location": ResponseHeader({"type": "string", "examples": ["/v1/cases/c_01JDQ3M2Y8V7K4T6R9P0ZSX5AB"]}, "The resource the write created."),
    "ETag": ResponseHeader(_ETAG, "The version you read or made: send it back in `If-Match`."),
    "Link": ResponseHeader({"type": "string", "examples": ['</v1/cases?cursor=eyJpIjoi...>; rel="next"']}, "RFC 8288 `rel=\"next\"`: the next page, while there is one."),
    "Retry-After": ResponseHeader({"type": "integer", "minimum": 1}, "Seconds to wait before sending the request again (signed afresh).",
                                  on=("429", "503")),
    "Content-Range": ResponseHeader({"type": "string", "examples": ["bytes 0-1023/48213"]}, "The range sent, or `bytes */<size>` with 416.",
                                    on=("416",)),
    "Content-Digest": ResponseHeader(_DIGEST, "RFC 9530 SHA-256 of the bytes in this response (the whole document, or the range)."),
    "Repr-Digest": ResponseHeader(_DIGEST, "RFC 9530 SHA-256 of the whole document, whatever range was sent: the `digest` it was uploaded with."),
    "Content-Disposition": ResponseHeader({"type": "string"}, "`attachment` with the document's name as uploaded (RFC 6266, RFC 8187)."),
    "Content-Language": ResponseHeader({"type": "string", "enum": ["fr", "ar", "en"]}, "The language of the problem's `title`.", on=("problem",)),
    "Accept-Ranges": ResponseHeader({"type": "string", "enum": ["bytes"]}, "Byte ranges are served."),
    "Cache-Control": ResponseHeader({"type": "string"}, "How long the answer may be kept (`private, no-store` for a document)."),
    "Allow": ResponseHeader({"type": "string"}, "The methods the path serves."),
    "WWW-Authenticate": ResponseHeader(
        {"type": "string"}, '`Mutual-TLS realm="<gateway id>", error="<problem slug>"` (the client certificate), or `Request-Signature '
        'realm="<gateway id>", alg="ES256", typ="gateway-request+jwt", error="<problem slug>"` (the signature). Neither scheme is '
        'IANA-registered: read `error`.', on=("401",)),
    "Idempotent-Replayed": ResponseHeader({"type": "string", "enum": ["true"]},
                                          "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`.",
                                          on=("write",)),
    "Deprecation": ResponseHeader({"type": "string", "examples": ["@1796083200"]},
                                  "Only when a deprecated parameter was used (`after`): since when it is deprecated (RFC 9745)."),
    "Sunset": ResponseHeader({"type": "string", "examples": ["Sat, 31 Jul 2027 00:00:00 GMT"]},
                             "Only when a deprecated parameter was used (`after`): until when it is answered (RFC 8594)."),
    "Vary": ResponseHeader({"type": "string", "enum": ["Accept"]}, "The answer depends on `Accept` (JSON, or the signed note as text/plain)."),
}


def request_parameter(name: str, required: bool = False) -> dict[str, Any]:
    schema, description = REQUEST_HEADERS[name]
    return {"name": name, "in": "header", "required": required, "schema": schema, "description": description}


def sent_on(*selectors: str) -> tuple[str, ...]:
    """The headers an answer matching any of `selectors` sends by their declarations' `on`."""
    return tuple(name for name, header in RESPONSE_HEADERS.items() if set(header.on) & {"*", *selectors})


def response_headers(names: tuple[str, ...]) -> dict[str, Any]:
    """References to the headers' declarations (`components/headers`), each declared once."""
    return {name: {"$ref": f"#/components/headers/{name}"} for name in dict.fromkeys(names)}


def components() -> dict[str, Any]:
    return {name: {"schema": header.schema, "description": header.description} for name, header in RESPONSE_HEADERS.items()}
