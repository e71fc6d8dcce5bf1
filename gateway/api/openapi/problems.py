"""The problem types each operation can produce, as the contract declares them.

Most follow from what an operation depends on, read from its route: a caller identified by
certificate can be refused for it or rate-limited; a role check refuses the other roles; a
signed write can fail its signature or its idempotency key; a JSON body can be malformed; any
parameter can fail validation; any read or write can meet a storage fault. The rest are the
service's own refusals, listed per operation in gateway.api.openapi.operations. A new problem
type is one entry in gateway.problems.CATALOGUE, then its slug in the group or operation that
raises it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, get_args

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.api import deps
from gateway.api.openapi.headers import response_headers, sent_on
from gateway.problems import CATALOGUE

SIGNATURE = tuple(slug for slug in CATALOGUE if slug.startswith("signature-"))
IDEMPOTENCY = ("idempotency-key-invalid", "idempotency-key-reused", "idempotency-in-flight")
JSON_BODY = ("malformed-request", "body-not-utf8", "duplicate-json-key", "unsupported-media-type", "payload-too-large", "validation-failed")


def _dependency(annotated: Any) -> Callable:
    return get_args(annotated)[1].dependency


# A caller identified by its certificate.
CALLER = ("client-certificate-required", "client-certificate-invalid", "unregistered-certificate", "rate-limited")

# What depending on each of these can answer.
BY_DEPENDENCY: dict[Callable, tuple[str, ...]] = {
    deps.current_institution: CALLER,
    _dependency(deps.CaseParty): ("role-forbidden",),
    _dependency(deps.Mediator): ("role-forbidden",),
    _dependency(deps.Auditor): ("role-forbidden",),
    deps.writable_runtime: ("writes-suspended",),
    deps.get_session: ("storage-unavailable",),
    deps.get_database: ("storage-unavailable",),
    deps.public_reader: CALLER,  # on the main listener; the public one refuses only by rate
    deps.get_exchange: (*SIGNATURE, *IDEMPOTENCY, "storage-unavailable", "content-digest-mismatch", "content-digest-malformed"),
    deps.get_streamed_exchange: (*SIGNATURE, *IDEMPOTENCY, "storage-unavailable", "content-digest-required", "content-digest-mismatch",
                                 "content-digest-malformed", "payload-too-large"),
}


def _calls(dependant: Dependant) -> Iterator[Callable]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


# Any request: a NUL character in its target (gateway.api.limits.RequestGuard, before any route).
EVERY_OPERATION = ("malformed-request",)


def derived(route: APIRoute) -> set[str]:
    """The problem types `route` can answer by what it depends on and what it takes."""
    slugs = {*EVERY_OPERATION, *(slug for call in _calls(route.dependant) for slug in BY_DEPENDENCY.get(call, ()))}
    if route.body_field is not None:
        slugs |= set(JSON_BODY)
    dependant = route.dependant
    if dependant.query_params or dependant.header_params or dependant.path_params:
        slugs.add("validation-failed")
    if dependant.path_params:
        slugs.add("not-found")
    return slugs


# What a problem of each type carries besides the RFC 9457 members, in its examples.
EXTENSION_EXAMPLES: dict[str, dict[str, Any]] = {
    "validation-failed": {"errors": [{"pointer": "#/complainant/cin", "detail": "String should match pattern '^[A-Z]{1,2}[0-9]{1,7}$'",
                                      "code": "string_pattern_mismatch"}]},
    "malformed-request": {"errors": [{"pointer": "#/", "detail": "Input should be a valid dictionary or object to extract fields from",
                                      "code": "model_attributes_type"}]},
    "transition-refused": {"case_status": "closed", "allowed_kinds": ["note"]},
    "precondition-failed": {"current_version": 4},
    "writes-suspended": {"check": "ledger_self_check"},
    "document-type-refused": {"accepted": ["application/pdf", "image/jpeg", "image/png"]},
    "unknown-document": {"documents": ["d_01JDQ3N0000000000000000000"]},
}

_DETAILS = {
    "ar": "راجعوا الطلب قبل إعادة إرساله.",
    "fr": "Vérifiez la requête avant de la renvoyer.",
}


def example_name(slug: str, language: str) -> str:
    return f"problem-{slug}-{language}"


def component_examples() -> dict[str, Any]:
    """One example per problem type and language (French and Arabic), referenced by every operation that declares it."""
    return {
        example_name(slug, language): {
            "summary": problem.titles[language],
            "value": {"type": problem.uri, "title": problem.titles[language], "status": problem.status, "detail": _DETAILS[language],
                      "request_id": "imr-crm:000123", **EXTENSION_EXAMPLES.get(slug, {})},
        }
        for slug, problem in CATALOGUE.items() for language in ("fr", "ar")
    }


def responses(slugs: set[str], problem_schema: str) -> dict[str, Any]:
    """The problem responses for `slugs`, one per status, under `application/problem+json`."""
    by_status: dict[int, list[str]] = {}
    for slug in sorted(slugs):
        by_status.setdefault(CATALOGUE[slug].status, []).append(slug)
    answers = {}
    for status, group in sorted(by_status.items()):
        answers[str(status)] = {
            "description": "; ".join(f"`{slug}`: {CATALOGUE[slug].titles['en']}" for slug in group),
            "x-problem-types": [CATALOGUE[slug].uri for slug in group],
            "content": {"application/problem+json": {
                "schema": {"$ref": problem_schema},
                "examples": {example_name(slug, language): {"$ref": f"#/components/examples/{example_name(slug, language)}"}
                             for slug in group for language in ("fr", "ar")},
            }},
            "headers": response_headers(sent_on("problem", str(status))),
        }
    return answers
