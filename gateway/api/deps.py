"""Request dependencies: settings, sessions, the calling institution, and the write unit of work.

`WriteExchange` is the one place where a write is accepted: it verifies the request signature,
uses up its `jti` and claims the idempotency key, opens the request's transaction, and commits
the work together with its signed receipt and the stored answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.domain.party import Party
from gateway.domain.vocabulary import Role
from gateway.problems import ProblemError
from gateway.security import identity
from gateway.security.keys import KeyRing
from gateway.security.signing import (
    RECEIPT_HEADER,
    SIGNATURE_HEADER,
    SIGNED_HEADERS,
    Evidence,
    SignatureRejected,
    VerifiedRequest,
    content_digest,
    parse_content_digest,
    verify_request,
)
from gateway.ledger.store import b64
from gateway.services import idempotency, nonces, receipts
from gateway.services.vault import Vault
from gateway.services.registry import institution_for_certificate
from gateway.storage.engine import Database

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_session(database: DatabaseDep) -> Iterator[Session]:
    with database.session(write=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_certificate(request: Request, settings: Settings) -> identity.ClientCertificate:
    """The verified client certificate: from a trusted proxy's header when enabled, else from TLS."""
    forwarded = request.headers.get(settings.proxy_cert_header)
    peer = request.client.host if request.client else None
    if forwarded and settings.trust_proxy_client_cert and identity.peer_is_trusted_proxy(peer, settings.proxy_networks):
        try:
            der = identity.decode_forwarded_certificate(forwarded)
            return identity.check_forwarded_certificate(der, request.app.state.client_ca)
        except identity.CertificateRejected as rejected:
            raise ProblemError("client-certificate-invalid", str(rejected)) from None
    certificate = identity.certificate_from_scope(request.scope)
    if certificate is None:
        raise ProblemError("client-certificate-required", "connect with your institution's client certificate")
    return certificate


def current_institution(request: Request, settings: SettingsDep, database: DatabaseDep) -> Party:
    certificate = client_certificate(request, settings)
    with database.session(write=False) as session:
        institution = institution_for_certificate(session, certificate)
        if institution is None:
            raise ProblemError(
                "unregistered-certificate",
                f"no institution is registered for the certificate with SHA-256 {certificate.fingerprint}",
            )
        return Party(institution.id, Role(institution.role), institution.name_fr, institution.name_ar)


CurrentInstitution = Annotated[Party, Depends(current_institution)]


def require_roles(*roles: Role) -> Callable[[Party], Party]:
    def check(caller: CurrentInstitution) -> Party:
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


class Replay(Exception):
    """An idempotent retry: answer with the first response instead of running the request again."""

    def __init__(self, stored: idempotency.StoredResponse) -> None:
        self.stored = stored


def get_key_ring(request: Request) -> KeyRing:
    return request.app.state.key_ring


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


def get_vault(request: Request) -> Vault:
    return request.app.state.vault


VaultDep = Annotated[Vault, Depends(get_vault)]


def request_target(request: Request) -> str:
    """Path with query, as signed in `htu` (the raw path: what the client actually sent)."""
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    return path + ("?" + request.url.query if request.url.query else "")


@dataclass(frozen=True)
class ExchangeEvent:
    """What an accepted write did, as the ledger records it and the receipt proves it."""

    case_id: str
    counterpart_id: str
    kind: str
    detail: str | None = None
    location: str | None = None


class Exchange:
    """One accepted write: its caller, its evidence, its transaction, and the committed answer.

    The transaction opens on first use of `session`: a streamed upload receives its bytes first,
    so that it does not hold the database's write lock while a large document arrives."""

    def __init__(self, database: Database, caller: Party, request: Request, body: bytes | None, digest: str,
                 signed: VerifiedRequest, keys: KeyRing, claim: idempotency.Claim | None) -> None:
        self.caller, self.request, self.keys, self.claim = caller, request, keys, claim
        self.vault: Vault = request.app.state.vault
        self.signed = signed
        self.evidence = Evidence(signed.token, body.decode("utf-8", errors="replace")) if body is not None else None
        self.body_digest = digest
        self.committed = False
        self._database, self._transaction, self._session = database, ExitStack(), None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._transaction.enter_context(self._database.session(write=True))
        return self._session

    def close(self) -> None:
        self._transaction.close()

    def commit(self, status_code: int, content: BaseModel, event: ExchangeEvent | None, headers: dict[str, str] | None = None) -> Response:
        """Commit the work, its ledger entry and signed receipt (for an exchange event), and its
        stored answer, together; then answer."""
        headers = {**(headers or {}), **(self._record(event) if event else {})}
        body = content.model_dump_json()
        if self.claim is not None:
            idempotency.complete(self.session, self.vault, self.claim, idempotency.StoredResponse(status_code, headers, body))
        self.session.commit()
        self.committed = True
        return Response(body, status_code=status_code, headers=headers, media_type="application/json")

    def _record(self, event: ExchangeEvent) -> dict[str, str]:
        target = request_target(self.request)
        resource = event.location or target
        appended = self.keys.ledger.append(
            self.session, kind=event.kind, detail=event.detail, sender=self.caller.id, recipient=event.counterpart_id,
            case=event.case_id, resource=resource, payload_digest=self.body_digest,
            signature_digest=content_digest(self.signed.token.encode()),
        )
        receipt = receipts.issue(
            self.session, self.keys, kind=receipts.ACCEPTANCE, case_id=event.case_id, resource=resource,
            sender_id=self.caller.id, counterpart_id=event.counterpart_id, signature=self.signed.token,
            sub=self.caller.id, htm=self.request.method, htu=target, req_dig=self.body_digest,
            ledger={"index": appended.index, "entry": appended.entry.as_dict(), "checkpoint": appended.checkpoint,
                    "inclusion": b64(appended.inclusion)},
        )
        headers = {RECEIPT_HEADER: receipt.token, "Receipt-Location": f"/v1/receipts/{receipt.id}"}
        if event.location:
            headers["Location"] = event.location
        return headers


def verify_signature(request: Request, digest: str, caller: Party, settings: Settings, keys: KeyRing) -> VerifiedRequest:
    """Check the request's JWS before anything is written; each failure has its own problem type."""
    try:
        return verify_request(
            request.headers.get(SIGNATURE_HEADER), keys=keys.keys, institution_id=caller.id, audience=settings.gateway_id,
            method=request.method, target=request_target(request), digest=digest, max_skew_seconds=settings.signature_max_skew_seconds,
            headers={name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers},
        )
    except SignatureRejected as rejected:
        raise ProblemError(rejected.slug, rejected.detail) from None


def _admit(request: Request, body: bytes | None, digest: str, caller: Party, settings: Settings, database: Database,
           keys: KeyRing) -> Iterator[Exchange]:
    """Verify the signature, then, in one short transaction, use up its jti and claim the
    idempotency key; yield the exchange, and release the claim if it was not committed."""
    signed = verify_signature(request, digest, caller, settings, keys)
    vault: Vault = request.app.state.vault
    raw_key = request.headers.get("idempotency-key")
    key = idempotency.parse_key(raw_key) if raw_key is not None else None
    with database.session(write=True) as session:
        nonces.consume(session, caller.id, signed.jti, settings.signature_max_skew_seconds)
        outcome = None
        if key is not None:
            fingerprint = idempotency.fingerprint(request.method, request_target(request), body if body is not None else digest.encode())
            outcome = idempotency.claim(session, vault, caller.id, key, fingerprint, settings.idempotency_lease_seconds)
        session.commit()
    if isinstance(outcome, idempotency.StoredResponse):
        raise Replay(outcome)
    claim = outcome
    exchange = Exchange(database, caller, request, body, digest, signed, keys, claim)
    try:
        yield exchange
    finally:
        exchange.close()
        if claim is not None and not exchange.committed:
            with database.session(write=True) as session:
                idempotency.release(session, claim)
                session.commit()


def get_exchange(
    request: Request, body: Annotated[bytes, Depends(raw_body)], caller: CurrentInstitution, settings: SettingsDep,
    database: DatabaseDep, keys: KeyRingDep,
) -> Iterator[Exchange]:
    yield from _admit(request, body, content_digest(body), caller, settings, database, keys)


def get_streamed_exchange(
    request: Request, caller: CurrentInstitution, settings: SettingsDep, database: DatabaseDep, keys: KeyRingDep,
) -> Iterator[Exchange]:
    """For a body too large to hold: the signature covers the declared `Content-Digest`, which the
    endpoint checks against the bytes as they arrive."""
    declared = request.headers.get("content-digest")
    digest = parse_content_digest(declared) if declared is not None else None
    if digest is None:
        raise ProblemError("content-digest-required", "send the body's SHA-256 as Content-Digest: sha-256=:<base64>: (RFC 9530)")
    yield from _admit(request, None, digest, caller, settings, database, keys)


WriteExchange = Annotated[Exchange, Depends(get_exchange)]
StreamedExchange = Annotated[Exchange, Depends(get_streamed_exchange)]
