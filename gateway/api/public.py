"""The public listener: what anyone holding a receipt (a court, an outside verifier) needs to check it,
served without a client certificate on `GATEWAY_PUBLIC_HOST:GATEWAY_PUBLIC_PORT` (gateway.server).

It serves the gateway's own app, but only its PUBLIC_ROUTES: the server marks each request it
takes there (`PUBLIC_LISTENER` in the ASGI scope, which no client can set), and `PublicGate`, a
middleware of the app, answers every other path 404 and any method but GET 405, after
taking a token from the client address's bucket (429 `rate-limited` past it: anyone can reach this
listener). The public routes serve registered clients on the main listener as before
(`PublicReader`: a registered caller there, nobody in particular here)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api.problems import problem_response
from gateway.problems import CATALOGUE, PROBLEM_BASE
from gateway.security.identity import peer_is_trusted_proxy

PUBLIC_LISTENER = "gateway.public_listener"
REFERENCE_HTML = "/openapi/v1.html"
JWKS = "/.well-known/jwks.json"
PUBLIC_ROUTES = (JWKS, "/v1/keys/history", "/v1/ledger/key", "/v1/ledger/checkpoint", PROBLEM_BASE + "{slug}", REFERENCE_HTML)
READ_METHODS = ("GET",)  # as the app serves them (its routes answer HEAD 405)
_PATTERNS = [compile_path(template)[0] for template in PUBLIC_ROUTES]


def serving_publicly(app: ASGIApp) -> ASGIApp:
    """`app` as the public listener serves it: every request marked as having come there."""

    async def public(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, PUBLIC_LISTENER: True}
        await app(scope, receive, send)

    return public


def is_public(scope: Scope) -> bool:
    return bool(scope.get(PUBLIC_LISTENER))


class PublicGate:
    """On the public listener: the client address's rate limit, then the public routes only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_public(scope):
            await self.app(scope, receive, send)
            return
        runtime = scope["app"].state.runtime
        headers, path = Headers(scope=scope), scope["path"]
        retry_after = runtime.public_rate_limiter.admit(client_address(scope, headers, runtime.settings))
        if retry_after is not None:
            refusal = problem_response(headers, CATALOGUE["rate-limited"], path=path, detail="too many requests from your address",
                                       headers={"Retry-After": str(retry_after)})
        elif not any(pattern.fullmatch(path) for pattern in _PATTERNS):
            refusal = problem_response(headers, CATALOGUE["not-found"], path=path,
                                       detail="this listener serves the gateway's public keys, checkpoints and documentation only")
        elif scope["method"] not in READ_METHODS:
            refusal = problem_response(headers, CATALOGUE["method-not-allowed"], path=path, headers={"Allow": ", ".join(READ_METHODS)})
        else:
            await self.app(scope, receive, send)
            return
        await refusal(scope, receive, send)


def client_address(scope: Scope, headers: Headers, settings) -> str:
    """The peer's address; behind a trusted proxy, the address it forwarded (the last one of
    `X-Forwarded-For`, which that proxy wrote), since every client comes through it."""
    peer = scope["client"][0] if scope.get("client") else ""
    forwarded = headers.get("x-forwarded-for")
    if forwarded and settings.trust_proxy_client_cert and peer_is_trusted_proxy(peer, settings.proxy_networks):
        return forwarded.rsplit(",", 1)[-1].strip()
    return peer
