"""Request dependencies: the runtime, sessions, the calling institution, and signed writes.

A write's dependency (`WriteExchange`) verifies its signature before anything else and hands the
router an `Exchange`: the router runs its service in it, and the exchange accepts what the
service did in one transaction (gateway.services.exchange).

Dependencies that do no I/O are `async`: FastAPI runs a plain `def` dependency in its thread pool,
a hop that costs more than what most of these do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.domain.party import Party
from imr_alomrane_gateway_client.vocabulary import Role
from gateway.ops import context
from gateway.problems import ProblemError
from gateway.runtime import Runtime
from gateway.security import identity
from gateway.security.keys import KeyRing
from imr_alomrane_gateway_client.signing import (
    SIGNATURE_HEADER,
    SIGNED_HEADERS,
    SignatureRejected,
    VerifiedRequest,
    content_digest,
    parse_content_digest,
    verify_request,
)
from gateway.services import idempotency
from gateway.services.exchange import Exchange, SignedWrite
from gateway.services.vault import Vault
from gateway.storage.engine import Database

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def writable_runtime(runtime: RuntimeDep) -> Runtime:
    """The runtime, for a write: every write depends on this, through its exchange. While a check
    that guards writes fails (the ledger self-check, the restore guard) a write is refused before
    anything touches the database; reads go on being served."""
    refusal = runtime.readiness.write_refusal()
    if refusal is not None:
        raise ProblemError(
            "writes-suspended", f"this gateway accepts no write until its operator clears the failing check {refusal.check!r}",
            headers={"Retry-After": str(runtime.settings.writes_suspended_retry_after_seconds)}, check=refusal.check,
        )
    return runtime


WritableRuntime = Annotated[Runtime, Depends(writable_runtime)]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(runtime: RuntimeDep) -> Database:
    return runtime.database


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(database: DatabaseDep) -> AsyncIterator[Session]:
    """Made on the event loop (no I/O), closed on a worker thread (closing gives its connection back):
    one thread hop, where a plain generator dependency costs two."""
    session = database.reader()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]


def client_certificate(request: Request, runtime: Runtime) -> identity.ClientCertificate:
    """The verified client certificate: from a trusted proxy's header when enabled, else from TLS;
    either way checked against the client CA, its validity period and the CRLs in force here too."""
    settings, revoked = runtime.settings, runtime.trust.revocations.serials
    forwarded = request.headers.get(settings.proxy_cert_header)
    peer = request.client.host if request.client else None
    try:
        if forwarded and settings.trust_proxy_client_cert and identity.peer_is_trusted_proxy(peer, settings.proxy_networks):
            der = identity.decode_forwarded_certificate(forwarded)
            return identity.check_forwarded_certificate(der, runtime.client_ca, revoked=revoked)
        certificate = identity.certificate_from_scope(request.scope, runtime.client_ca, revoked)
    except identity.CertificateRejected as rejected:
        raise ProblemError("client-certificate-invalid", str(rejected)) from None
    if certificate is None:
        raise ProblemError("client-certificate-required", "connect with your institution's client certificate")
    return certificate


async def current_institution(request: Request, runtime: RuntimeDep) -> Party:
    certificate = client_certificate(request, runtime)
    institution = runtime.directory.institution_for(certificate.fingerprint, certificate.subject)
    if institution is None:
        raise ProblemError(
            "unregistered-certificate", f"no institution is registered for the certificate with SHA-256 {certificate.fingerprint}"
        )
    context.identified(institution.id, institution.unit_id)
    runtime.metrics.certificate_seen(certificate.fingerprint, institution.id, institution.unit_id, certificate.certificate.not_valid_after_utc)
    if (retry_after := runtime.rate_limiter.admit(institution)) is not None:
        raise ProblemError("rate-limited", f"too many requests from unit {institution.unit_id} or its institution",
                           headers={"Retry-After": str(retry_after)})
    return institution


CurrentInstitution = Annotated[Party, Depends(current_institution)]


def require_roles(*roles: Role) -> Callable[[Party], Awaitable[Party]]:
    async def check(caller: CurrentInstitution) -> Party:
        if caller.role not in roles:
            raise ProblemError("role-forbidden", f"this needs the role {' or '.join(role.value for role in roles)}")
        return caller

    return check


CaseParty = Annotated[Party, Depends(require_roles(Role.MEDIATOR, Role.RESPONDENT))]
Mediator = Annotated[Party, Depends(require_roles(Role.MEDIATOR))]
Auditor = Annotated[Party, Depends(require_roles(Role.AUDITOR))]


async def raw_body(request: Request) -> bytes:
    """The exact bytes received (what idempotency fingerprints and signatures cover)."""
    return await request.body()


async def get_key_ring(runtime: RuntimeDep) -> KeyRing:
    return runtime.keys


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


async def get_vault(runtime: RuntimeDep) -> Vault:
    return runtime.vault


VaultDep = Annotated[Vault, Depends(get_vault)]


def request_target(request: Request) -> str:
    """Path with query, as signed in `htu` (the raw path: what the client actually sent)."""
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    return path + ("?" + request.url.query if request.url.query else "")


def verify_signature(request: Request, digest: str, caller: Party, settings: Settings, keys: KeyRing,
                     signed_headers: dict[str, str]) -> VerifiedRequest:
    """Check the request's JWS before anything is written; each failure has its own problem type."""
    try:
        return verify_request(
            request.headers.get(SIGNATURE_HEADER), keys=keys.keys, unit_id=caller.unit_id, audience=settings.gateway_id,
            method=request.method, target=request_target(request), digest=digest, max_skew_seconds=settings.signature_max_skew_seconds,
            headers=signed_headers,
        )
    except SignatureRejected as rejected:
        raise ProblemError(rejected.slug, rejected.detail) from None


def _signed_write(request: Request, body: bytes | None, digest: str, caller: Party, runtime: Runtime) -> Exchange:
    """Verify the request's signature, read its Idempotency-Key; nothing touches the database yet."""
    settings = runtime.settings
    signed_headers = {name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers}
    signed = verify_signature(request, digest, caller, settings, runtime.keys, signed_headers)
    target = request_target(request)
    raw_key = request.headers.get("idempotency-key")
    key = None
    if raw_key is not None:
        fingerprint = idempotency.fingerprint(request.method, target, digest, signed_headers)
        key = idempotency.Key(caller.id, idempotency.parse_key(raw_key), fingerprint)
    return Exchange(runtime, SignedWrite(caller, request.method, target, signed, body, digest, key))


ContentDigestHeader = Annotated[str | None, Header(alias="Content-Digest", description=(
    "RFC 9530 digest of the body, `sha-256=:<padded standard base64>:`. Optional on a JSON write (checked when sent: "
    "400 content-digest-mismatch or content-digest-malformed); required on a document upload, whose signature covers it."))]


async def get_exchange(request: Request, caller: CurrentInstitution, runtime: WritableRuntime,
                       body: Annotated[bytes, Depends(raw_body)], declared: ContentDigestHeader = None) -> Exchange:
    """The caller first: a request refused for its certificate or its rate, or while writes are
    suspended, is not read. A `Content-Digest` sent with the body must be the body's."""
    digest = content_digest(body)
    if declared is not None and _declared_digest(declared, request, caller, runtime) != digest:
        _refuse_a_bad_signature(request, caller, runtime)
        raise ProblemError("content-digest-mismatch", "the SHA-256 of the body received is not its Content-Digest")
    return _signed_write(request, body, digest, caller, runtime)


async def get_streamed_exchange(request: Request, caller: CurrentInstitution, runtime: WritableRuntime,
                                declared: ContentDigestHeader = None) -> Exchange:
    """For a body too large to hold: the signature covers the declared `Content-Digest`, which the
    endpoint checks against the bytes as they arrive."""
    digest = _declared_digest(declared, request, caller, runtime) if declared is not None else None
    if digest is None:
        _refuse_a_bad_signature(request, caller, runtime)
        raise ProblemError("content-digest-required", "send the body's SHA-256 as Content-Digest: sha-256=:<base64>: (RFC 9530)")
    return _signed_write(request, None, digest, caller, runtime)


def _declared_digest(declared: str, request: Request, caller: Party, runtime: Runtime) -> str | None:
    """The sha-256 member of the request's `Content-Digest` (None if it lists other algorithms only);
    400 content-digest-malformed if that member is not well formed, once the signature holds."""
    try:
        return parse_content_digest(declared)
    except ValueError as malformed:
        _refuse_a_bad_signature(request, caller, runtime)
        raise ProblemError("content-digest-malformed", f"Content-Digest: {malformed}") from None


def _refuse_a_bad_signature(request: Request, caller: Party, runtime: Runtime) -> None:
    """A write whose Content-Digest is missing (an upload), malformed or not its body's, and that
    is also unsigned, or signed with a key or claims that do not hold, answers 401 for its signature,
    as any other write does: authentication comes first.
    A signature wrong only in the digest it covers (there is none to compare, or the client signed
    the malformed header it sent) is left to the 400."""
    signed_headers = {name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers}
    try:
        verify_signature(request, "", caller, runtime.settings, runtime.keys, signed_headers)
    except ProblemError as refused:
        if refused.problem_type.slug not in ("signature-digest-mismatch", "signature-digest-malformed"):
            raise


WriteExchange = Annotated[Exchange, Depends(get_exchange)]
StreamedExchange = Annotated[Exchange, Depends(get_streamed_exchange)]
