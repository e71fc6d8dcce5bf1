"""Completing the document FastAPI generates into the contract: servers, the headers each
operation takes and sends, its own problem types (under `application/problem+json`, with the
Problem schema and its extension members), real media types, and examples throughout."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from gateway.api.deps import WRITE_METHODS
from gateway.api.openapi import examples, headers, problems
from gateway.api.openapi.operations import DOCUMENT, EVERY_REQUEST, EVERY_WRITE, OPERATIONS, STREAMED_WRITE
from gateway.config import Settings
from imr_alomrane_gateway_client.contract.common import Problem

PROBLEM_SCHEMA = "#/components/schemas/Problem"
_REF_TEMPLATE = "#/components/schemas/{model}"


def servers(settings: Settings) -> list[dict[str, str]]:
    """Where the gateway answers: its institutions' listener, then the public one (keys, checkpoints, this reference)."""
    found = [{"url": f"https://{settings.host}:{settings.port}", "description": "Institutions (mutual TLS: a registered client certificate)"}]
    public_port = getattr(settings, "public_port", 8444)  # GATEWAY_PUBLIC_PORT, which the public listener's change adds
    if public_port:
        found.append({"url": f"https://{settings.host}:{public_port}",
                      "description": "Public (server-only TLS): the gateway's keys, the ledger key and checkpoints, problem types, this reference"})
    return found


def complete(document: dict[str, Any], app: FastAPI, settings: Settings) -> dict[str, Any]:
    document["servers"] = servers(settings)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    problem = Problem.model_json_schema(ref_template=_REF_TEMPLATE)
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    components["examples"] = problems.component_examples()
    components["headers"] = headers.components()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            _complete_operation(document["paths"][context.path_format][method.lower()], route, method, settings)
    return document


def _complete_operation(operation: dict[str, Any], route: APIRoute, method: str, settings: Settings) -> None:
    described = OPERATIONS[route.operation_id]
    streamed = "requestBody" in operation and "application/octet-stream" in operation["requestBody"]["content"]
    taken = {**EVERY_REQUEST, **((STREAMED_WRITE if streamed else EVERY_WRITE) if method in WRITE_METHODS else {}),
             **dict.fromkeys(described.takes, False)}
    declared = {parameter["name"].lower(): parameter for parameter in operation.get("parameters", []) if parameter["in"] == "header"}
    others = [parameter for parameter in operation.get("parameters", []) if parameter["in"] != "header"]
    operation["parameters"] = others + [
        headers.request_parameter(name, required or declared.get(name.lower(), {}).get("required", False)) for name, required in taken.items()
    ]
    if body := operation.get("requestBody"):
        for media in body["content"].values():
            if described.request is not None:
                media["example"] = examples.value(described.request)
    answers = {status: answer for status, answer in operation["responses"].items() if int(status) < 400}
    for status in described.headers.keys() - {int(status) for status in answers}:
        answers[str(status)] = {"description": HTTPStatus(status).phrase}
    for status, answer in answers.items():
        _complete_answer(answer, route.operation_id, method in WRITE_METHODS, int(status), settings)
    operation["responses"] = answers | problems.responses(problems.derived(route) | set(described.problems), PROBLEM_SCHEMA)


def _complete_answer(answer: dict[str, Any], operation_id: str, write: bool, status: int, settings: Settings) -> None:
    described = OPERATIONS[operation_id]
    answer["headers"] = headers.response_headers((*headers.sent_on(operation_id, *(("write",) if write else ())),
                                                  *described.headers.get(status, ())))
    if described.media_type == DOCUMENT:
        answer["content"] = {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in settings.document_types}
        return
    if described.media_type != "application/json":
        answer["content"] = {described.media_type: {"schema": {"type": "string"}}}
    content = answer.setdefault("content", {})
    for media in content.values():
        media["example"] = examples.value(described.answers[status])
    for media_type, example in described.alternatives.items():
        content[media_type] = {"schema": {"type": "string"}, "example": example}
