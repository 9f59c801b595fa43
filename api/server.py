"""`qa serve`: open (or first build) the index, then run uvicorn with one worker: one index in memory.

    serve(Settings.from_env(), host="127.0.0.1", port=8000, log_level="info", create_key=False) -> exit status

With `create_key` (what `make run` passes) and no CITEQA_API_KEY, the write key is the one kept in the index
folder (`<index>/api-key`, mode 600), made on the first start and printed that once. The address to open is
printed plainly on stdout; the JSON log stays on stderr.

Logs are JSON lines on stderr (see api.logs). The port is checked before the model loads, so a busy port
fails in a second with one line instead of after the index is opened.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import sys
import time
from pathlib import Path

from api.config import ApiConfig
from api.logs import APP, logging_config
from index.errors import CiteqaError
from index.settings import Settings, omp_threads_set

LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise CiteqaError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (pick another --host/--port)"
            ) from exc


def _one_torch_thread_per_request() -> None:
    """Requests run side by side in uvicorn's threadpool; torch's intra-op threads on top of that oversubscribe
    the cores. Measured on the 2-core dev box under load: median /v1/ask 800 ms with 2 threads, 18 ms with 1.
    Called after the index is opened, so a first-start build still embeds with every core. An explicit
    OMP_NUM_THREADS is left alone."""
    torch = sys.modules.get("torch")
    if torch is not None and not omp_threads_set():
        torch.set_num_threads(1)


KEY_FILE = "api-key"


def kept_key(index: Path) -> tuple[str, bool]:
    """(the key kept in the index folder, whether it was made just now)."""
    path = index / KEY_FILE
    try:
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key, False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise CiteqaError(f"cannot read the API key file {path}: {exc.strerror}") from exc
    key = secrets.token_urlsafe(24)
    try:
        index.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key + "\n")
    except OSError as exc:
        raise CiteqaError(f"cannot write the API key file {path}: {exc.strerror}") from exc
    return key, True


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def serve(
    settings: Settings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info", create_key: bool = False
) -> int:
    import logging.config

    import uvicorn

    from api.app import create_app
    from api.protocol import server_options

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
    config = ApiConfig.from_env()
    app = create_app(settings, config)
    health = app.state.engine.health()
    _one_torch_thread_per_request()
    log.info(
        "index ready",
        extra={
            "fields": {
                "seconds": round(time.perf_counter() - t0, 2),
                "documents": health["documents"],
                "chunks": health["chunks"],
                "corpus": str(settings.corpus),
                "index": str(settings.index),
                "store": settings.store.redacted(),
            }
        },
    )
    lines = [f"citeqa is ready: open {_url(host, port)}"]
    if not config.api_key and create_key:
        key, new = kept_key(settings.index)
        app.state.config = config = dataclasses.replace(config, api_key=key)
        where = settings.index / KEY_FILE
        lines.append(
            f"API key for uploads and deletes (shown once, kept in {where}): {key}"
            if new
            else f"API key for uploads and deletes: the one kept in {where}"
        )
    elif config.api_key:
        lines.append("API key for uploads and deletes: the one in CITEQA_API_KEY")
    else:
        lines.append("uploads and deletes are off: set CITEQA_API_KEY (or start with --create-key) to enable them")
        log.info("writes disabled", extra={"fields": {"hint": "set CITEQA_API_KEY to enable uploads and deletes"}})
    print("\n".join(lines), flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=level,
        access_log=False,
        log_config=log_config,
        workers=1,
        **server_options(config),
    )
    return 0
