"""The FastAPI application: wiring only. Behaviour lives in services, rules in domain."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse
from starlette.types import ASGIApp

from gateway.api import problems
from gateway.api.deps import WRITE_METHODS, PublicReader
from gateway.api.public import JWKS, REFERENCE_HTML, PublicGate
from gateway.api.limits import RequestGuard
from gateway.api.openapi import described
from gateway.api.openapi.document import complete
from gateway.api.v1 import router as v1_router
from gateway.config import Settings
from gateway.problems import CATALOGUE, PROBLEM_BASE, ProblemError
from gateway.jobs import follow_registry, purge_nonces_periodically, send_reminders_periodically
from gateway.ops.context import route_templates
from gateway.ops.observer import RequestObserver
from gateway.runtime import RUNTIME_STATE, Runtime
from imr_alomrane_gateway_client.signing import SIGNATURE_HEADER

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """\
Exchange of complaint case files between the Institution du Médiateur du Royaume (IMR) and
Groupe Al Omrane. Every caller is an institution's machine presenting a client certificate
(mutual TLS); errors are RFC 9457 problem documents whose `title` follows `Accept-Language`
(fr, ar, en)."""


SIGNATURE_DOC = """\
Every write (POST, PUT, PATCH, DELETE) carries a compact JWS (RFC 7515), alg ES256, made with the
unit's registered signing key, in canonical compact form: three base64url segments without
padding, whitespace or any other character. Protected header: exactly `{"alg": "ES256", "kid":
"<registered kid>", "typ": "gateway-request+jwt"}` (any other member, `b64` and `crit` included, is
refused); header and payload are UTF-8 JSON objects naming no member twice. Payload: `iss` your
unit's id (your institution's id for its head office), `aud` the gateway id, `htm` the HTTP method, `htu` the path with query exactly as
sent, `iat` Unix seconds as an integer (within the configured window, 300 s by default), `jti` a unique id (8-128
characters, never reused), `dig` the RFC 9530 digest of the exact body bytes, `sha-256=:<base64
SHA-256>:` in standard base64 with padding, never base64url (send the same value as `Content-Digest`:
when sent with a JSON body it is checked). A JSON body is sent as `Content-Type: application/json` (415
otherwise). A document upload is streamed: its `Content-Digest` is checked against the bytes as they
arrive, and a mismatch stores nothing. Every accepted write answers with a `Receipt` header: a JWS
signed by the gateway; a replay of an `Idempotency-Key` answers the first response again, with
`Idempotent-Replayed: true`. Every 401 carries `WWW-Authenticate`. Times are RFC 3339 in UTC with `Z`."""

def _link(method: str, path: str, **fields: str) -> dict:
    """An OpenAPI link to the call `method path`, its path parameters taken from the response's `fields`."""
    return {
        "operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
        "parameters": {f"path.{name}": f"$response.body#/{field}" for name, field in fields.items()},
    }


def _case_links() -> dict:
    return {
        "GetCase": _link("get", "/v1/cases/{case_id}", case_id="id"),
        "SendMessage": _link("post", "/v1/cases/{case_id}/messages", case_id="id"),
        "AttachDocument": _link("post", "/v1/cases/{case_id}/documents", case_id="id"),
        "ListDocuments": _link("get", "/v1/cases/{case_id}/documents", case_id="id"),
        "ErasePersonalData": _link("delete", "/v1/cases/{case_id}/personal-data", case_id="id"),
    }


# Which identifiers of a response the next calls take, by (method, path, status): clients, and the
# stateful schemathesis run, follow these links.
LINKS = {
    ("post", "/v1/cases", "201"): _case_links(),
    ("get", "/v1/cases/{case_id}", "200"): _case_links(),
    ("post", "/v1/cases/{case_id}/messages", "201"): {
        "GetMessage": _link("get", "/v1/cases/{case_id}/messages/{message_id}", case_id="case_id", message_id="id"),
        "GetCase": _link("get", "/v1/cases/{case_id}", case_id="case_id"),
    },
    ("post", "/v1/thematic-files", "201"): {
        "GetThematicFile": _link("get", "/v1/thematic-files/{file_id}", file_id="id"),
        "SendThematicMessage": _link("post", "/v1/thematic-files/{file_id}/messages", file_id="id"),
        "AttachThematicDocument": _link("post", "/v1/thematic-files/{file_id}/documents", file_id="id"),
    },
    ("post", "/v1/thematic-files/{file_id}/messages", "201"): {
        "GetThematicMessage": _link("get", "/v1/thematic-files/{file_id}/messages/{message_id}", file_id="thematic_file_id",
                                    message_id="id"),
    },
    ("post", "/v1/cases/{case_id}/documents", "201"): {
        "GetDocument": _link("get", "/v1/cases/{case_id}/documents/{document_id}", case_id="case_id", document_id="id"),
        "Download": _link("get", "/v1/cases/{case_id}/documents/{document_id}/content", case_id="case_id", document_id="id"),
    },
}


class GatewayApp(FastAPI):
    """FastAPI with the request observer outside everything, Starlette's error middleware included
    (it also pins each request's registry version). Starlette builds the stack on the app's first
    call, its start-up."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestObserver(super().build_middleware_stack(), route_templates(self))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Runtime]]:
        """The runtime is also in the lifespan state, where the server's parts outside the app (the
        edge, the operations listener) find it."""
        runtime = Runtime(settings)
        try:
            runtime.start()
            app.state.runtime = runtime
            tasks = [asyncio.create_task(purge_nonces_periodically(runtime)), asyncio.create_task(follow_registry(runtime))]
            if settings.reminder_interval_seconds:
                tasks.append(asyncio.create_task(send_reminders_periodically(runtime)))
            yield {RUNTIME_STATE: runtime}  # the lifespan state: the edge takes the TLS context of the registry in force from it
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        finally:
            runtime.close()

    app = GatewayApp(
        title="IMR – Al Omrane exchange gateway",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # Starlette builds that redirect from the Host header: a trailing slash is a 404
    )
    app.state.settings = settings
    problems.install(app)

    @app.get(PROBLEM_BASE + "{slug}", include_in_schema=False)
    def describe_problem(slug: str) -> JSONResponse:
        problem_type = CATALOGUE.get(slug)
        if problem_type is None:
            raise ProblemError("not-found", "no such problem type")
        return JSONResponse({"type": problem_type.uri, "status": problem_type.status, "titles": problem_type.titles})

    @app.get(JWKS, tags=["keys"], **described("getJwks"))
    def jwks(request: Request) -> JSONResponse:
        """Verify receipts against this set alone (ES256 keys, purpose `receipts`); the institutions'
        request keys are another set, /v1/institutions/keys."""
        return JSONResponse(request.app.state.runtime.keys.jwks(), headers={"Cache-Control": "max-age=300"})

    @app.get(REFERENCE_HTML, include_in_schema=False)
    def reference_documentation(caller: PublicReader, request: Request) -> FileResponse:
        """The reference documentation generated from openapi/v1.json, when it was generated."""
        path = request.app.state.settings.reference_html_path
        if not path.is_file():
            raise ProblemError("not-found", "the reference documentation was not generated for this installation")
        return FileResponse(path, media_type="text/html; charset=utf-8")

    app.include_router(v1_router)
    app.add_middleware(RequestGuard, max_bytes=settings.max_body_bytes, max_stream_bytes=settings.max_document_bytes)
    app.add_middleware(PublicGate)  # outermost of these: a request the public listener does not serve goes no further
    app.openapi = lambda: openapi_document(app, settings)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI, settings: Settings) -> dict:
    """OpenAPI 3.1 with the mutual-TLS security scheme applied to every operation, completed into
    the contract (gateway.api.openapi)."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        document.setdefault("components", {})["securitySchemes"] = {
            "institutionCertificate": {
                "type": "mutualTLS",
                "description": "A client certificate issued by the client CA and listed in the institution registry.",
            }
        }
        document["components"]["securitySchemes"]["requestSignature"] = {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": SIGNATURE_DOC,
        }
        document["security"] = [{"institutionCertificate": []}]
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if method.upper() in WRITE_METHODS:
                    operation["security"] = [{"institutionCertificate": [], "requestSignature": []}]
        for (method, path, status), links in LINKS.items():
            document["paths"][path][method]["responses"][status]["links"] = copy.deepcopy(links)
        app.openapi_schema = complete(document, app, settings)
    return app.openapi_schema
