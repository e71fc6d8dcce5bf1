"""Typed exceptions: every problem document the gateway can answer becomes one of these."""

from __future__ import annotations

from typing import Any

from imr_alomrane_gateway_client.contract.common import Problem


class GatewayError(Exception):
    """An error answer from the gateway; `problem` is its RFC 9457 document."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.type}: {problem.detail or problem.title}")
        self.problem = problem

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def request_id(self) -> str | None:
        """The gateway's id of the refused request (its `X-Request-ID`): quote it to the gateway's operators."""
        return self.problem.request_id

    @property
    def slug(self) -> str:
        return self.problem.type.rsplit("/", 1)[-1]

    def extension(self, name: str) -> Any:
        """An extension member: a declared field of `Problem`, or one this SDK does not know yet."""
        if name in type(self.problem).model_fields:
            return getattr(self.problem, name)
        return (self.problem.model_extra or {}).get(name)


class BadRequest(GatewayError): ...
class Unauthenticated(GatewayError): ...
class SignatureRefused(Unauthenticated): ...
class Forbidden(GatewayError): ...
class NotFound(GatewayError): ...
class Conflict(GatewayError): ...
class PreconditionFailed(GatewayError): ...
class PayloadTooLarge(GatewayError): ...
class ValidationFailed(GatewayError): ...
class ServerError(GatewayError): ...
class UnsupportedDocument(BadRequest): ...
class Gone(GatewayError): ...


class TransitionRefused(Conflict):
    """The case's lifecycle does not allow this message now; `allowed_kinds` says what would be."""

    @property
    def allowed_kinds(self) -> list[str]:
        return list(self.extension("allowed_kinds") or [])


class ReceiptInvalid(Exception):
    """The gateway's answer came without a receipt that verifies: do not treat the write as proven."""


class UnknownGatewayKey(ReceiptInvalid):
    """The receipt is signed with a key the pinned key history does not announce: the gateway changed
    keys unannounced (or is not the gateway). The write may well be stored: once the new key is pinned,
    a retry with the same Idempotency-Key gets its receipt."""


class DocumentCorrupted(Exception):
    """A downloaded document's bytes do not match the digest the gateway announced: nothing was kept."""


class LedgerInconsistent(ReceiptInvalid):
    """The gateway showed this client a ledger that does not extend the one it saw before:
    a rewritten or forked history. Keep the evidence and alert the auditors."""


_BY_STATUS: dict[int, type[GatewayError]] = {
    400: BadRequest, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict,
    410: Gone, 412: PreconditionFailed, 413: PayloadTooLarge, 415: UnsupportedDocument, 422: ValidationFailed,
}


def error_for(problem: Problem) -> GatewayError:
    slug = problem.type.rsplit("/", 1)[-1]
    if slug == "transition-refused":
        return TransitionRefused(problem)
    if slug.startswith("signature-"):
        return SignatureRefused(problem)
    if problem.status >= 500:
        return ServerError(problem)
    return _BY_STATUS.get(problem.status, GatewayError)(problem)
