"""JSON-lines logging for the server: one object per line on stderr.

    {"ts": "2026-11-22T06:30:01.123Z", "level": "info", "logger": "citeqa.access", "event": "request",
     "request_id": "5f0c...", "method": "POST", "path": "/v1/ask", "route": "/v1/ask", "status": 200,
     "duration_ms": 41.2, "client": "127.0.0.1"}

Fields come from `extra={"fields": {...}}`; a traceback, when there is one, goes under "error".
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

ACCESS = "citeqa.access"
APP = "citeqa.api"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        out: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def logging_config(level: str) -> dict[str, Any]:
    """A dictConfig for uvicorn's `log_config=`: uvicorn's own messages and citeqa's, all as JSON lines.
    uvicorn's plain access log is replaced by citeqa.access (run uvicorn with access_log=False)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "uvicorn.error": {"level": lvl},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "citeqa": {"handlers": ["stderr"], "level": lvl, "propagate": False},
        },
    }
