"""`qa serve`: open (or first build) the index, then run uvicorn with one worker: one index in memory.

    serve(Settings.from_env(), host="127.0.0.1", port=8000, log_level="info") -> exit status

Logs are JSON lines on stderr (see api.logs). The port is checked before the model loads, so a busy port
fails in a second with one line instead of after the index is opened.
"""

from __future__ import annotations

import os
import socket
import sys
import time

from api.logs import APP, logging_config
from index.errors import CiteqaError
from qa.engine import Settings

LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise CiteqaError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (pick another --host/--port)") \
                from exc


def _one_torch_thread_per_request() -> None:
    """Requests run side by side in uvicorn's threadpool; torch's intra-op threads on top of that oversubscribe
    the cores. Measured on the 2-core dev box under load: median /v1/ask 800 ms with 2 threads, 18 ms with 1.
    Called after the index is opened, so a first-start build still embeds with every core. An explicit
    OMP_NUM_THREADS is left alone."""
    torch = sys.modules.get("torch")
    if torch is not None and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> int:
    import logging.config

    import uvicorn

    from api.app import create_app

    level = log_level.lower()
    if level not in LEVELS:
        raise CiteqaError(f"unknown log level {log_level!r}: use one of {', '.join(LEVELS)}")
    if not 0 <= port <= 65535:
        raise CiteqaError(f"port {port} is out of range 0-65535")
    _check_port(host, port)
    log_config = logging_config("debug" if level == "trace" else level)
    logging.config.dictConfig(log_config)
    log = logging.getLogger(APP)
    t0 = time.perf_counter()
    app = create_app(settings)
    health = app.state.engine.health()
    _one_torch_thread_per_request()
    log.info("index ready", extra={"fields": {
        "seconds": round(time.perf_counter() - t0, 2), "documents": health["documents"],
        "chunks": health["chunks"], "corpus": str(settings.corpus), "index": str(settings.index),
        "store": getattr(settings, "store", None)}})
    if not app.state.config.api_key:
        log.info("writes disabled", extra={"fields": {"hint": "set CITEQA_API_KEY to enable uploads and deletes"}})
    uvicorn.run(app, host=host, port=port, log_level=level, access_log=False, log_config=log_config, workers=1)
    return 0
