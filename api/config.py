"""What the HTTP edge reads from the environment, once, in `create_app()` (and `qa serve` for the server ones).

CITEQA_API_KEY             bearer key for the write routes (POST/DELETE /v1/documents); unset = writes answer 403
CITEQA_CORS_ORIGINS        comma-separated origins allowed by CORS, e.g. "http://localhost:3000,https://x.org";
                           unset = no CORS headers at all (same-origin only)
CITEQA_HEADER_TIMEOUT      seconds a client has to send a whole request head (from connecting, or from the first
                           byte of a later request on a kept-alive connection); then the connection is closed
CITEQA_BODY_TIMEOUT        seconds a request body may stall (no byte arriving) before the connection is closed
CITEQA_KEEPALIVE_TIMEOUT   seconds an idle kept-alive connection stays open (75, above clients' usual 5-60 s
                           idle expiry, so the client always closes first and never reuses a closing socket)
CITEQA_MAX_CONNECTIONS     open connections (and requests in flight) beyond which a request answers 503
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from index.errors import CiteqaError

MB = 1024 * 1024


@dataclass(frozen=True)
class ApiConfig:
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 20 * MB  # a file over this answers 413
    max_json_bytes: int = 1 * MB  # any other request body over this answers 413
    max_history: int = 10  # the most recent earlier questions passed on to the engine
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 75.0
    max_connections: int = 512

    @classmethod
    def from_env(cls) -> ApiConfig:
        key = os.environ.get("CITEQA_API_KEY") or None
        origins = tuple(o.strip() for o in os.environ.get("CITEQA_CORS_ORIGINS", "").split(",") if o.strip())
        return cls(
            api_key=key,
            cors_origins=origins,
            header_timeout=_number("CITEQA_HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=_number("CITEQA_BODY_TIMEOUT", cls.body_timeout),
            keep_alive_timeout=_number("CITEQA_KEEPALIVE_TIMEOUT", cls.keep_alive_timeout),
            max_connections=int(_number("CITEQA_MAX_CONNECTIONS", cls.max_connections, whole=True)),
        )


def _number(name: str, default: float, whole: bool = False) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = -1
    if not 0 < value < 1e6:
        kind = "a whole number" if whole else "a number of seconds"
        raise CiteqaError(f"{name}={raw!r} is not valid: use {kind} above 0")
    return value
