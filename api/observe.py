"""One ASGI middleware for what every request gets: a request id, an access-log line, metrics, and a
JSON 500 carrying the request id if a route ever fails unexpectedly (the traceback goes to the log).

Request ids: an incoming `X-Request-ID` of 1-128 characters from [A-Za-z0-9._:-] is kept (so a proxy's id
threads through), anything else is replaced by a fresh uuid4 hex; the id is echoed in the response's
`X-Request-ID` header and stored at `request.state.request_id`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import ROUTE_HINT
from api.logs import ACCESS, APP
from api.prometheus import Metrics

_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger(ACCESS)
app_log = logging.getLogger(APP)


def request_id(headers: Headers) -> str:
    given = headers.get("x-request-id", "")
    return given if _ID.fullmatch(given) else uuid.uuid4().hex


def route_label(scope: Scope) -> str:
    """The matched route's template ("/v1/documents/{doc_id}", "/static"), or "unmatched"."""
    route: Any = scope.get("route")
    return str(getattr(route, "path", "") or scope.get(ROUTE_HINT) or "unmatched")


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:  # the client went away (or stalled and was cut off) mid-body: nobody to answer
            status = 499
        except Exception:
            app_log.exception("unhandled error", extra={"fields": {"request_id": rid}})
            if response_started:
                raise
            await JSONResponse(
                {"detail": f"internal error; quote request id {rid}"}, status_code=500, headers={"x-request-id": rid}
            )(scope, receive, send)
            status = 500
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - started
            route = route_label(scope)
            self.metrics.observe(scope["method"], route, status, seconds)
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                        "client": client[0] if client else None,
                    }
                },
            )
