"""The API docs page at /docs, served whole by citeqa so it works offline: Swagger UI's files come from the
installed `swagger-ui-bundle-v2` package (import name `swagger_ui_bundle`), the page and its start script are
ours, with no inline script so it runs under the page's Content-Security-Policy.

    install(app)   GET /docs, GET /docs/assets/{swagger-ui-bundle.js, swagger-ui.css, docs.js}
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

HERE = Path(__file__).resolve().parent / "docs_page"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · API docs</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<script src="/docs/assets/swagger-ui-bundle.js" defer></script><script src="/docs/assets/docs.js" defer></script>
</head><body><div id="swagger-ui" data-openapi="{openapi}"></div></body></html>"""


def swagger_folder() -> Path:
    import swagger_ui_bundle

    return Path(str(swagger_ui_bundle.swagger_ui_path))


def install(app: FastAPI, path: str = "/docs") -> None:
    assets = {
        "swagger-ui-bundle.js": swagger_folder() / "swagger-ui-bundle.js",
        "swagger-ui.css": swagger_folder() / "swagger-ui.css",
        "docs.js": HERE / "docs.js",
    }
    page = PAGE.format(title=app.title, openapi=app.openapi_url)

    @app.get(path, include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{path}/assets/{{name}}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        file = assets.get(name)
        if file is None:
            raise HTTPException(404, f"no docs asset {name!r}")
        return FileResponse(file)
