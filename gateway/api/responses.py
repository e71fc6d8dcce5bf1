"""Responses: the problems every endpoint may give (for the OpenAPI description), and models sent as they are."""

from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

from imr_alomrane_gateway_client.contract.common import Problem

_PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {**_PROBLEM, "description": description}
    for status, description in {
        400: "Malformed request (a JSON body must be UTF-8, naming no member twice), cursor, idempotency key or Content-Digest",
        401: "Client certificate or request signature missing or refused; `WWW-Authenticate` names which",
        403: "Certificate not registered, or role not allowed",
        404: "Not found, or not a party to it",
        409: "Refused by the case lifecycle, duplicate, or a retry still in flight",
        412: "If-Match names an older version of the case",
        413: "Request too large",
        415: "A JSON body needs `Content-Type: application/json`",
        422: "Validation failed, or idempotency key reused with another request",
        429: "Too many requests from your unit or institution: retry after `Retry-After` seconds",
        503: "Storage temporarily unavailable: nothing was recorded; retry after `Retry-After` seconds",
    }.items()
}
PROBLEM_RESPONSES[401]["headers"] = {"WWW-Authenticate": {
    "description": '`Mutual-TLS realm="<gateway id>", error="<problem slug>"` (the client certificate), or '
    '`Request-Signature realm="<gateway id>", alg="ES256", typ="gateway-request+jwt", error="<problem slug>"` (the signature)',
    "schema": {"type": "string"},
}}


def model_response(content: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A model as JSON, serialised once by pydantic: a model returned to FastAPI is validated and
    serialised again on its way out. The route declares `response_model` for the contract."""
    return Response(content.model_dump_json(), status_code=status_code, headers=headers, media_type="application/json")
