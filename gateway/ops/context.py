"""The request being served, as logs and metrics name it: its id, the calling institution and unit,
its route template, the problem it was answered with.

A contextvar holds it for the request's task. The threads a request's work runs on see it too
(Starlette's thread pool copies the context; the SQLite writer thread runs each job in its
submitter's), so a line logged deep in a service carries the request id. Nothing here is personal:
ids of institutions and units, a route template (never the raw path), a problem type."""

from __future__ import annotations

import itertools
import os
import re
import secrets
from contextvars import ContextVar
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import _IncludedRouter

REQUEST_ID_HEADER = "X-Request-ID"
# What a client's X-Request-ID may be to be kept: 1 to 128 letters, digits, `.`, `_`, `:` or `-`
# (a UUID, a ULID, a trace id, a "system:sequence" id). Anything else is replaced, never echoed.
WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class _RequestIds:
    """New request ids, 32 hex digits: a random prefix drawn once per process (again in a forked
    child), then a counter. Unique, not secret, and without a syscall per request: `os.urandom`
    releases the GIL, and the event loop then waits for it behind the worker threads."""

    def __init__(self) -> None:
        self._restart()
        os.register_at_fork(after_in_child=self._restart)

    def _restart(self) -> None:
        self._prefix, self._counter = secrets.token_hex(8), itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_new_request_id = _RequestIds().next


def request_id_from(offered: str | bytes | None) -> str:
    """The client's request id if well formed, else a new one (32 hex digits)."""
    if isinstance(offered, bytes):
        offered = offered.decode("latin-1")
    if offered is not None and WELL_FORMED_REQUEST_ID.fullmatch(offered):
        return offered
    return _new_request_id()


Templates = Mapping[int, str]  # id of a route object → its whole path template


@dataclass
class RequestContext:
    request_id: str
    scope: dict[str, Any] = field(default_factory=dict, repr=False)  # the ASGI scope: where routing writes the route
    templates: Templates = field(default_factory=dict, repr=False)  # the app's (route_templates)
    institution: str | None = None
    unit: str | None = None
    problem: str | None = None  # the slug of the problem type answered, if one was

    @property
    def route(self) -> str | None:
        """The path template of the route that matched (`/v1/cases/{case_id}`), or None before
        routing and for a path no route serves."""
        route = self.scope.get("route")
        return None if route is None else self.templates.get(id(route))


_current: ContextVar[RequestContext | None] = ContextVar("gateway_request", default=None)


def begin(request_id: str, scope: dict[str, Any], templates: Templates) -> RequestContext:
    """The context of a request starting in this task."""
    context = RequestContext(request_id, scope, templates)
    _current.set(context)
    return context


def current() -> RequestContext | None:
    return _current.get()


def identified(institution: str, unit: str) -> None:
    """The caller is known: every later line of this request names it."""
    if (context := current()) is not None:
        context.institution, context.unit = institution, unit


def answered_with_problem(slug: str) -> None:
    if (context := current()) is not None:
        context.problem = slug


def route_templates(app: Any) -> dict[int, str]:
    """Each route's whole path template. A route inside an included router knows only its own part
    of the path; the prefixes are the include's. Read from the routers as included, not from
    FastAPI's route contexts (`fastapi.routing.iter_route_contexts`, the same templates: tested),
    which build every route's models, some 0.2 s per app, that FastAPI otherwise builds router by
    router as requests first reach them."""
    templates: dict[int, str] = {}

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            if isinstance(route, _IncludedRouter):
                walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif isinstance(getattr(route, "path", None), str):
                templates[id(route)] = prefix + route.path

    walk(app.routes, "")
    return templates
