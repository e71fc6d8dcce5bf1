"""The FastAPI application: wiring only. Behaviour lives in services, rules in domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cryptography import x509
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response

from gateway.api import problems
from gateway.api.deps import WRITE_METHODS, Replay
from gateway.api.limits import RequestGuard
from gateway.api.v1 import router as v1_router
from gateway.config import Settings
from gateway.problems import CATALOGUE, PROBLEM_BASE, ProblemError
from gateway.security.keys import KeyRing
from gateway.security.registry import Registry
from gateway.security.signing import SIGNATURE_HEADER
from gateway.services.registry import sync_registry
from gateway.services.vault import Vault
from gateway.storage.engine import Database
from gateway.storage.migrations import check_up_to_date

API_VERSION = "1.0.0"
DESCRIPTION = """\
Exchange of complaint case files between the Institution du Médiateur du Royaume (IMR) and
Groupe Al Omrane. Every caller is an institution's machine presenting a client certificate
(mutual TLS); errors are RFC 9457 problem documents whose `title` follows `Accept-Language`
(fr, ar, en)."""


def load_registry(settings: Settings, database: Database) -> KeyRing:
    """Mirror the registry file into the database, in one transaction, and build the key ring."""
    registry = Registry.load(settings.registry_file)
    keys = KeyRing.build(
        registry, settings.gateway_id, settings.signing_key_path, settings.retired_signing_keys,
        settings.checkpoint_key_path, settings.origin,
    )
    with database.session(write=True) as session:
        sync_registry(session, registry)
        session.commit()
    return keys


SIGNATURE_DOC = """\
Every write (POST, PUT, PATCH, DELETE) carries a compact JWS (RFC 7515), alg ES256, made with the
institution's registered signing key. Protected header: `{"alg": "ES256", "kid": "<registered kid>",
"typ": "gateway-request+jwt"}`, nothing else that names a key (`jku`, `x5u`, `jwk`, `x5c`, `crit` are
refused). Payload (JSON): `iss` your institution id, `aud` the gateway id, `htm` the HTTP method,
`htu` the path with query exactly as sent, `iat` Unix seconds (within the configured window, 300 s
by default), `jti` a unique id (8-128 characters, never reused), `dig` the RFC 9530 digest of the
exact body bytes, `sha-256=:<base64 SHA-256>:` (send the same value as `Content-Digest`). A document
upload is streamed: its `Content-Digest` is checked against the bytes as they arrive, and a
mismatch stores nothing.
Every accepted write answers with a `Receipt` header: a JWS signed by the gateway."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.database_url)
        check_up_to_date(database.engine)
        app.state.key_ring = load_registry(settings, database)
        app.state.vault = Vault(settings.load_master_key(), settings.load_retired_master_keys())
        app.state.blobs = settings.open_blob_store()
        app.state.blobs.sweep_incoming()
        app.state.database = database
        app.state.client_ca = (
            x509.load_pem_x509_certificate(settings.client_ca_path.read_bytes()) if settings.trust_proxy_client_cert else None
        )
        try:
            yield
        finally:
            database.dispose()

    app = FastAPI(
        title="IMR – Al Omrane exchange gateway",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    problems.install(app)

    @app.exception_handler(Replay)
    async def _replay(request: Request, replay: Replay) -> Response:
        stored = replay.stored
        return Response(stored.body, status_code=stored.status_code, headers=stored.headers, media_type="application/json")

    @app.get(PROBLEM_BASE + "{slug}", include_in_schema=False)
    def describe_problem(slug: str) -> JSONResponse:
        problem_type = CATALOGUE.get(slug)
        if problem_type is None:
            raise ProblemError("not-found", "no such problem type")
        return JSONResponse({"type": problem_type.uri, "status": problem_type.status, "titles": problem_type.titles})

    @app.get("/.well-known/jwks.json", tags=["keys"], summary="Public keys: the gateway's (receipts) and the institutions' (requests)")
    def jwks(request: Request) -> JSONResponse:
        return JSONResponse(request.app.state.key_ring.jwks(), headers={"Cache-Control": "max-age=300"})

    app.include_router(v1_router)
    app.add_middleware(RequestGuard, max_bytes=settings.max_body_bytes, max_stream_bytes=settings.max_document_bytes)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI) -> dict:
    """OpenAPI 3.1 with the mutual-TLS security scheme applied to every operation."""
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
        app.openapi_schema = document
    return app.openapi_schema
