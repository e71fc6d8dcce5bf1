"""JSON request bodies are read strictly (imr_alomrane_gateway_client.strict_json): UTF-8 without a byte order mark, no
member twice at any depth, no lone surrogate. The exact bytes are kept as evidence and read again
by the recipient; a body two readers could read differently is refused before anything runs.

Why here, in the route: FastAPI reads a JSON body once, with `Request.json()`, before any
dependency. Making that one call strict is the whole cost: one parse, paid only by the bodies that
are read as JSON. RequestGuard, which buffers every body, could not find a repeated member without
parsing, and FastAPI would then parse again. Every /v1 router uses StrictJsonRoute, so that a
body added later is strict too. Document uploads are streamed and binary: they have no JSON body
and never come here.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from imr_alomrane_gateway_client import strict_json
from gateway.problems import ProblemError


def is_json(content_type: str | None) -> bool:
    """The media types FastAPI reads as JSON: `application/json` and `application/*+json`."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = strict_json.loads(await self.body())
        return self._strict_json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read strictly (and a body of another media type is 415). It is read here, ahead of FastAPI, so that each
    refusal gets its own problem type (FastAPI would answer any error in `json()` with a bare 400);
    FastAPI then finds the value already read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.body_field is None:
            return handle

        async def handle_strictly(request: Request) -> Response:
            request = StrictJsonRequest(request.scope, request.receive)
            if await request.body():
                if not is_json(request.headers.get("content-type")):
                    raise ProblemError("unsupported-media-type", "send the body as application/json")
                try:
                    await request.json()
                except strict_json.NotStrictJson as refused:
                    raise ProblemError(refused.slug, refused.detail) from None
            return await handle(request)

        return handle_strictly
