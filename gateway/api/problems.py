"""Rendering problems as `application/problem+json`, and routing every error through the catalogue.

Nothing internal (stack traces, SQL, input values) is ever put in a problem: validation errors
name the failing field and the rule it broke, not what was sent (it may be a citizen's data).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from imr_alomrane_gateway_client.contract.common import FieldError, Problem
from gateway.ops import context
from gateway.problems import CATALOGUE, ProblemError, ProblemType, negotiate_language
from imr_alomrane_gateway_client.signing import ALGORITHM, REQUEST_TYPE
from gateway.storage import faults

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
# A body of 20,000 unknown members would otherwise get a problem of 20,000 errors back.
MAX_FIELD_ERRORS = 50


def problem_body(problem_type: ProblemType, language: str, *, detail: str | None = None, instance: str | None = None,
                 request_id: str | None = None, **extensions: Any) -> dict[str, Any]:
    problem = Problem(
        type=problem_type.uri, title=problem_type.titles[language], status=problem_type.status, detail=detail, instance=instance,
        request_id=request_id, **extensions,
    )
    return problem.model_dump(mode="json", exclude_none=True)


def problem_response(request_headers, problem_type: ProblemType, *, path: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any) -> JSONResponse:
    """The problem document for one request, carrying its request id. A client error is one INFO
    line naming its type (never the input, which may be a citizen's data): operators see refusals
    without tracebacks."""
    context.answered_with_problem(problem_type.slug)
    if problem_type.status < 500:
        log.info("refused %s: %s %s", path or "-", problem_type.status, problem_type.slug)
    language = negotiate_language(request_headers.get("accept-language"))
    request = context.current()
    return JSONResponse(
        problem_body(problem_type, language, instance=path, request_id=request and request.request_id, **kwargs),
        status_code=problem_type.status,
        media_type=MEDIA_TYPE,
        headers={"Content-Language": language, **(headers or {})},
    )


def challenge(problem_type: ProblemType, realm: str) -> dict[str, str]:
    """The `WWW-Authenticate` challenge of a 401 (RFC 9110 §11.6.1): `Mutual-TLS` when the client
    certificate is what failed, `Request-Signature` (the header a write signs with) otherwise. The
    realm is the gateway's id, the signature's `aud`; `error` is the problem type's slug. Neither
    scheme is registered with IANA: a client reads the problem document, the challenge names what to fix."""
    if problem_type.status != 401:
        return {}
    if problem_type.slug.startswith("client-certificate"):
        return {"WWW-Authenticate": f'Mutual-TLS realm="{realm}", error="{problem_type.slug}"'}
    return {"WWW-Authenticate": f'Request-Signature realm="{realm}", alg="{ALGORITHM}", typ="{REQUEST_TYPE}", error="{problem_type.slug}"'}


def _field_error(error: dict[str, Any]) -> FieldError:
    where, *path = error["loc"] or ("body",)
    message = error["msg"].removeprefix("Value error, ")
    if where == "body":
        return FieldError(pointer="#/" + "/".join(str(part) for part in path), detail=message, code=error["type"])
    if where == "header":
        return FieldError(header=str(path[0]) if path else "", detail=message, code=error["type"])
    return FieldError(parameter=".".join(str(part) for part in path), detail=message, code=error["type"])


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's). The
    routes of an included router are reached through FastAPI's route contexts: `app.routes` holds
    the router itself, which has no methods of its own."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Route every error the app can produce through the problem catalogue."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        headers = {**challenge(exc.problem_type, request.app.state.settings.gateway_id), **exc.headers}
        return problem_response(
            request.headers, exc.problem_type, path=request.url.path, detail=exc.detail, headers=headers, **exc.extensions
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        """A body that is not JSON never gets here (gateway.api.bodies refuses it first); one that is
        JSON but not an object is malformed, and any other failure is a field's."""
        errors = [_field_error(error) for error in exc.errors()[:MAX_FIELD_ERRORS]]
        malformed = any(error.code == "model_attributes_type" and error.pointer == "#/" for error in errors)
        slug = "malformed-request" if malformed else "validation-failed"
        return problem_response(
            request.headers, CATALOGUE[slug], path=request.url.path, errors=[e.model_dump(exclude_none=True) for e in errors]
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        by_status = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large", 415: "unsupported-media-type"}
        slug = by_status.get(exc.status_code, "malformed-request" if exc.status_code < 500 else "internal-error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(request.headers, CATALOGUE[slug], path=request.url.path, headers=headers)

    async def _storage(request: Request, exc: Exception) -> JSONResponse:
        """A read (or a write outside the exchange) met a storage fault: nothing to undo, come back later."""
        if not faults.is_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("storage unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        retry_after = str(request.app.state.settings.storage_retry_after_seconds)
        return problem_response(request.headers, CATALOGUE["storage-unavailable"], path=request.url.path,
                                detail="try again shortly", headers={"Retry-After": retry_after})

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        """The client left before its body ended: nothing was written; nobody is there to read the answer."""
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return problem_response(request.headers, CATALOGUE["malformed-request"], path=request.url.path,
                                detail="the connection closed before the body ended")

    app.add_exception_handler(SQLAlchemyError, _storage)
    app.add_exception_handler(OSError, _storage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(request.headers, CATALOGUE["internal-error"], path=request.url.path)
