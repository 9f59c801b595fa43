"""`create_app(settings | engine)` -> the FastAPI app: /v1 routes, /health, /metrics, the chat page at `/`
and its files under `/static/`. One engine (one index in memory) per app, opened here, never per request.

    create_app(Settings(corpus=Path("corpus"), index=Path(".citeqa")))   opens (or first builds) the index;
                                                                         settings.store picks FAISS or Milvus
    create_app(engine)                                                   serves an engine already open
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api import docs, errors
from api.config import ApiConfig
from api.deps import QAEngine
from api.edge import SecurityHeaders, WriteAuth
from api.limits import BodyLimit
from api.observe import RequestContext
from api.prometheus import Metrics
from api.routes import ops, v1
from index.settings import Settings
from qa.engine import open_engine

STATIC = Path(__file__).resolve().parent / "static"
PLACEHOLDER = (
    "<!doctype html><meta charset=utf-8><title>citeqa</title><h1>citeqa</h1>"
    "<p>The chat page is not installed. The API is at <a href=/docs>/docs</a>.</p>"
)

DESCRIPTION = """Ask questions of a folder of documents and get answers that are retrieved, never generated:
ranked passages with exact citations (`document.text[start:end] == passage.text`) and the single best answer
sentence verbatim, or an abstention. Reads are open; uploads and deletes need `Authorization: Bearer <key>`
with the server's `CITEQA_API_KEY`. Every error is JSON `{"detail": "..."}`."""


def _version() -> str:
    try:
        return metadata.version("citeqa")
    except metadata.PackageNotFoundError:
        return "0"


def create_app(source: Settings | QAEngine | None = None, config: ApiConfig | None = None) -> FastAPI:
    config = config or ApiConfig.from_env()
    if source is None:
        source = Settings.from_env()
    engine: QAEngine = open_engine(source, build_if_missing=True) if isinstance(source, Settings) else source

    # /docs is served by api.docs from the installed Swagger UI package (works offline); no /redoc (a CDN page)
    app = FastAPI(title="citeqa", version=_version(), description=DESCRIPTION, docs_url=None, redoc_url=None)
    app.state.engine = engine
    app.state.config = config
    app.state.metrics = Metrics(engine.health)
    errors.install(app)
    app.include_router(v1)
    app.include_router(ops)
    docs.install(app)
    if STATIC.is_dir():  # without the folder, /static/... is a plain 404 and / the placeholder page
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def chat_page() -> Response:
        page = STATIC / "index.html"
        return FileResponse(page) if page.is_file() else HTMLResponse(PLACEHOLDER)

    # outermost last: request id + access log + metrics, security headers, CORS, the write key, the body limit
    app.add_middleware(BodyLimit, config=config)
    app.add_middleware(WriteAuth)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext, metrics=app.state.metrics)
    return app
