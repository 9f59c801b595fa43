"""Two ASGI layers at the edge, before any route runs:

`WriteAuth`: the bearer key of a write (POST /v1/documents, DELETE /v1/documents/{id}) is checked on the request
head alone, so a request without the right key answers 401 (403 when the server has no key) before a byte of
its body is read, and the connection is closed rather than drained.

`SecurityHeaders`: every HTML response (the chat page and the API docs page alike) gets a Content-Security-Policy
(scripts, styles and connections from this origin only, nothing inline), `X-Frame-Options: DENY`,
`Referrer-Policy: no-referrer`; every response gets `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import key_problem
from api.limits import ROUTE_HINT

# (method, path pattern, route template for metrics)
WRITES = (
    ("POST", re.compile(r"/v1/documents/?"), "/v1/documents"),
    ("DELETE", re.compile(r"/v1/documents/[^/]+"), "/v1/documents/{doc_id}"),
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def write_route(scope: Scope) -> str | None:
    for method, pattern, template in WRITES:
        if scope["method"] == method and pattern.fullmatch(scope["path"]):
            return template
    return None


class WriteAuth:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        template = write_route(scope) if scope["type"] == "http" else None
        if template is not None:
            problem = key_problem(scope["app"].state.config, Headers(scope=scope).get("authorization"))
            if problem is not None:
                scope[ROUTE_HINT] = template
                await JSONResponse(
                    {"detail": problem.detail},
                    status_code=problem.status_code,
                    headers={**(problem.headers or {}), "connection": "close"},
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                if Headers(raw=headers).get("content-type", "").startswith("text/html"):
                    headers += [
                        (b"content-security-policy", CSP.encode()),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"),
                    ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
