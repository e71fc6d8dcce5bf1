"""Every answer the in-process clients get is held to the published contract: a problem's type
must be one its operation declares (`x-problem-types` of that status), and a header the contract
names (gateway.api.openapi.headers) may only come on an answer that declares it. The check wraps
the app under every client of tests/conftest.py `institution_client`, so the whole suite (the
hostile catalogues, the API tests) is the evidence; a test that sees an undeclared problem or
header fails there. What was seen is kept (`OBSERVED`) for the session's coverage line."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from gateway.api.openapi.headers import RESPONSE_HEADERS

SPEC = Path(__file__).resolve().parents[1] / "openapi" / "v1.json"
CHECKED_HEADERS = {name.lower() for name in RESPONSE_HEADERS} - {"content-language", "cache-control", "content-disposition"}
INTERNAL_ERROR = "/problems/internal-error"
OBSERVED: set[tuple[str, str, str]] = set()  # (method, path template, problem type)


@cache
def _operations() -> list[tuple[re.Pattern, str, dict]]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path, operations) for path, operations in spec["paths"].items()]


def declared_problems() -> set[tuple[str, str, str]]:
    return {(method.upper(), path, uri) for _, path, operations in _operations() for method, operation in operations.items()
            for answer in operation["responses"].values() for uri in answer.get("x-problem-types", [])}


def operation_for(method: str, path: str) -> tuple[str, dict] | None:
    for pattern, template, operations in _operations():
        if pattern.match(path) and method.lower() in operations:
            return template, operations[method.lower()]
    return None


def held_to_contract(app):
    """`app`, its answers checked against the operation they answer."""

    async def checked(scope, receive, send):
        found = operation_for(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            return await app(scope, receive, send)
        template, operation = found
        start: dict = {}
        body = bytearray()

        async def watch(message):
            if message["type"] == "http.response.start":
                start.update(message)
                _check_headers(scope["method"], template, operation, message)
            elif message["type"] == "http.response.body" and start.get("status", 200) >= 400:
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    _check_problem(scope["method"], template, operation, start["status"], bytes(body))
            await send(message)

        await app(scope, receive, watch)

    return checked


def _check_headers(method: str, template: str, operation: dict, start: dict) -> None:
    status = str(start["status"])
    if status not in operation["responses"]:
        return  # a problem: its type is checked with its body
    declared = {name.lower() for name in operation["responses"][status].get("headers", {})}
    sent = {name.decode("latin-1").lower() for name, _ in start.get("headers", [])}
    undeclared = (sent & CHECKED_HEADERS) - declared
    assert not undeclared, f"{method} {template} answered {status} with headers its contract does not declare: {sorted(undeclared)}"


def _check_problem(method: str, template: str, operation: dict, status: int, body: bytes) -> None:
    try:
        problem_type = json.loads(body).get("type")
    except (ValueError, AttributeError):
        return
    if problem_type == INTERNAL_ERROR:
        return  # a bug, not an answer of the contract: tests/api/test_problems.py provokes one on purpose
    OBSERVED.add((method, template, problem_type))
    declared = operation["responses"].get(str(status), {}).get("x-problem-types", [])
    assert problem_type in declared, f"{method} {template} answered {status} {problem_type}, which its contract does not declare ({declared})"
