"""The outermost layer of the app (pure ASGI): each request gets its id and context
(gateway.ops.context), runs with the registry version in force when it arrived
(gateway.runtime.Runtime.pinned), its answer gets the `X-Request-ID` header, and once answered it
is one access log line (logger `gateway.access`) and counted in the metrics.

It wraps Starlette's error middleware too, so an unexpected error's 500 is observed like any
other answer. One layer does all of it: each layer of the stack is paid on every request."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.ops import context
from gateway.ops.logs import ACCESS_LOGGER
from gateway.runtime import Runtime, runtime_in

access = logging.getLogger(ACCESS_LOGGER)

REQUEST_ID_HEADER = context.REQUEST_ID_HEADER.lower().encode()  # ASGI header names are lower case
# The status logged and counted for a request that got no answer: the client left, or the edge cut
# it (a stalled body: the edge's 408 is its answer). nginx's "client closed request".
NO_ANSWER = 499


class RequestObserver:
    def __init__(self, app: ASGIApp, templates: context.Templates | None = None) -> None:
        """`templates`: the app's route templates (context.route_templates), to name a request's route."""
        self.app, self.templates = app, templates or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((value for name, value in scope["headers"] if name == REQUEST_ID_HEADER), None)
        request = context.begin(context.request_id_from(offered), scope, self.templates)
        runtime = runtime_in(scope.get("state"))
        echoed = (REQUEST_ID_HEADER, request.request_id.encode())
        status = NO_ANSWER  # unless an answer starts (Starlette answers an unexpected error with a 500)
        started = time.perf_counter()
        logged = False

        async def observed(message: Message) -> None:
            """The access line is written as the answer's last bytes are handed on: before the client
            can read them (and before a test checks the log)."""
            nonlocal status, logged
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), echoed]}
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                logged = True
                answered(scope, runtime, request, status, time.perf_counter() - started)
            await send(message)

        try:
            if runtime is None:  # no lifespan state: an app that is not the gateway's
                await self.app(scope, receive, observed)
            else:
                with runtime.pinned():
                    await self.app(scope, receive, observed)
        finally:
            if not logged:  # no complete answer: the client left, or an error ended it
                answered(scope, runtime, request, status, time.perf_counter() - started)


def answered(scope: Scope, runtime: Runtime | None, request: context.RequestContext, status: int, seconds: float) -> None:
    """The access line and the counts of one answered request."""
    method, route = scope.get("method", "-"), request.route
    access.info("%s %s %d", method, route or "-", status, extra={"method": method, "status": status, "duration_ms": round(seconds * 1000, 1)})
    if runtime is not None:
        runtime.metrics.answered(route, method, status, seconds)
        if request.problem is not None:
            runtime.metrics.problem(request.problem)
