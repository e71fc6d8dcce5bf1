"""Checks made before a request reaches the app (pure ASGI): its size, and no NUL character in its
target (PostgreSQL refuses NUL in text, SQLite stores it: refuse it at the edge, on both engines).

Bodies are read whole, up to `max_bytes`, except document uploads: those are streamed to the
endpoint, which counts and checks them as they arrive (`max_stream_bytes`)."""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.problems import problem_response
from gateway.problems import CATALOGUE


STREAMED_UPLOAD = re.compile(r"/v1/(cases|thematic-files)/[^/]+/documents")


def is_streamed_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and STREAMED_UPLOAD.fullmatch(scope.get("path", "")) is not None


class RequestGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_stream_bytes: int) -> None:
        self.app, self.max_bytes, self.max_stream_bytes = app, max_bytes, max_stream_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"%00" in target.lower() or b"\x00" in target or "\x00" in scope.get("path", ""):
            response = problem_response(headers, CATALOGUE["malformed-request"], path=None, detail="NUL characters are not allowed")
            await response(scope, receive, send)
            return
        streamed = is_streamed_upload(scope)
        limit = self.max_stream_bytes if streamed else self.max_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await refuse_too_large(scope, headers, receive, send, limit)
            return
        if streamed:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left (or the edge cut a stalled body): nobody to answer, nothing to do
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await refuse_too_large(scope, headers, receive, send, self.max_bytes)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)



async def refuse_too_large(scope: Scope, headers: Headers, receive: Receive, send: Send, limit: int) -> None:
    response = problem_response(
        headers, CATALOGUE["payload-too-large"], path=scope.get("path"), detail=f"the limit is {limit} bytes",
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
