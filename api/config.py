"""What the HTTP edge reads from the environment, once, in `create_app()`.

    CITEQA_API_KEY        bearer key for the write routes (POST/DELETE /v1/documents); unset = writes answer 403
    CITEQA_CORS_ORIGINS   comma-separated origins allowed by CORS, e.g. "http://localhost:3000,https://x.org";
                          unset = no CORS headers at all (same-origin only)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class ApiConfig:
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 20 * MB  # a file over this answers 413
    max_json_bytes: int = 1 * MB  # any other request body over this answers 413
    max_history: int = 10  # the most recent earlier questions passed on to the engine

    @classmethod
    def from_env(cls) -> ApiConfig:
        key = os.environ.get("CITEQA_API_KEY") or None
        origins = tuple(o.strip() for o in os.environ.get("CITEQA_CORS_ORIGINS", "").split(",") if o.strip())
        return cls(api_key=key, cors_origins=origins)
