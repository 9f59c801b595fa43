"""Request-body size limits, enforced before a body is read whole.

A declared `Content-Length` over the limit is answered 413 at once, before a byte of the body is read; a body
without one (chunked) is counted while it streams in and refused as soon as the count passes the limit.
Limits: `POST /v1/documents` allows the upload limit plus room for the multipart envelope (the route then
checks the file itself against the upload limit); every other request allows `max_json_bytes`.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import MB, ApiConfig

ENVELOPE = 64 * 1024
ROUTE_HINT = "citeqa.route"  # multipart boundaries, part headers and the title field


def too_large(limit: int) -> str:
    return f"the request body is over the {limit / MB:g} MB limit"


def upload_too_large(limit: int) -> str:
    return f"the file is over the {limit / MB:g} MB upload limit"


class BodyLimit:
    def __init__(self, app: ASGIApp, config: ApiConfig, upload_path: str = "/v1/documents") -> None:
        self.app = app
        self.config = config
        self.upload_path = upload_path

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        """(bytes allowed, message when over)."""
        if scope["method"] == "POST" and scope["path"].rstrip("/") == self.upload_path:
            return self.config.max_upload_bytes + ENVELOPE, upload_too_large(self.config.max_upload_bytes)
        return self.config.max_json_bytes, too_large(self.config.max_json_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = self.limit_for(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            if scope["method"] == "POST" and scope["path"].rstrip("/") == self.upload_path:
                scope[ROUTE_HINT] = self.upload_path  # answered before routing: name the route for metrics/logs
            await JSONResponse({"detail": message}, status_code=413, headers={"connection": "close"})(
                scope, receive, send
            )
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    # raised inside the route's body parsing; the HTTPException handler answers it as JSON
                    raise HTTPException(413, message, headers={"connection": "close"})
            return msg

        await self.app(scope, counted, send)
