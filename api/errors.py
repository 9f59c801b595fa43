"""Every error the HTTP edge answers, mapped in this one place, always as JSON {"detail": "..."}.

DocumentTooLarge              413  (over CITEQA_MAX_UPLOAD_SENTENCES)
StorageFull                   507  (disk full: nothing was changed)
StorageUnavailable            503  (read-only or unwritable index folder)
BadQuestion, BadDocument      422  (empty/over-long question; undecodable text, broken PDF, no text)
DocumentNotFound              404
DuplicateDocument             409  {"detail": ..., "doc_id": "<the document that has this text>"}
                                   (409 rather than idempotent 200: the client learns its upload was not
                                   stored under a new id, and the existing id comes with the answer)
UnsupportedType               415
CorpusNotFound, Index*        503  (server state, not the request)
any other CiteqaError         400
request validation            422  {"detail": "body.question: ...", "errors": [{loc, msg, type}, ...]}
HTTPException (413, 401, ...) its own status, {"detail": ...}; a 405's `Allow` lists every method
                              that some route of that path takes (Starlette names only the first route's)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from api.schemas import ErrorOut
from index.errors import (
    BadDocument,
    BadQuestion,
    CiteqaError,
    CorpusNotFound,
    DocumentNotFound,
    DocumentTooLarge,
    DuplicateDocument,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    StorageFull,
    StorageUnavailable,
    UnsupportedType,
)

STATUS: dict[type[CiteqaError], int] = {
    BadQuestion: 422,
    BadDocument: 422,
    DocumentNotFound: 404,
    DuplicateDocument: 409,
    UnsupportedType: 415,
    CorpusNotFound: 503,
    IndexMissing: 503,
    IndexMismatch: 503,
    IndexCorrupt: 503,
    DocumentTooLarge: 413,
    StorageFull: 507,
    StorageUnavailable: 503,
}

DESCRIPTIONS = {
    400: "The body could not be parsed (not UTF-8 JSON, or broken multipart).",
    401: "Missing or wrong API key (send `Authorization: Bearer <key>`).",
    403: "Writes are disabled: the server has no CITEQA_API_KEY.",
    404: "No document with that id.",
    409: "The same text is already indexed; `doc_id` names that document.",
    413: "The upload is over the 20 MB limit (refused before it is read whole) or over the sentence cap.",
    415: "Unsupported file type (the detail names the types citeqa reads).",
    503: "The index folder cannot be written (read-only, permissions) or the index is unavailable.",
    507: "The disk holding the index is full; nothing was changed.",
    422: "Invalid input: empty or over-long question, top_k outside 1-50, unreadable document.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each listed status with the ErrorOut shape."""
    return {code: {"model": ErrorOut, "description": DESCRIPTIONS[code]} for code in codes}


def status_for(exc: CiteqaError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def _citeqa_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CiteqaError)
    body: dict[str, Any] = {"detail": str(exc) or type(exc).__name__}
    if isinstance(exc, DuplicateDocument):
        body["doc_id"] = exc.doc_id
    return JSONResponse(body, status_code=status_for(exc))


def _where(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def _plain(issue: dict[str, Any]) -> str:
    """pydantic's message, except where it speaks in regexes: an empty or blank question."""
    if issue["type"] in ("string_pattern_mismatch", "string_too_short") and issue["loc"][-1:] == ["question"]:
        return "the question is empty or only whitespace"
    return str(issue["msg"])


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # deliberately without "input" and "ctx": they can be large, binary or not JSON-serialisable
    issues = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    detail = "; ".join(f"{_where(i['loc'])}: {_plain(i)}" for i in issues[:5]) or "invalid request"
    return JSONResponse({"detail": detail, "errors": issues}, status_code=422)


PROBED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers, e.g. ["DELETE", "GET"] for /v1/documents/{id} (mounted
    static files, which match any method, don't count)."""
    scope = request.scope
    allowed = []
    for method in PROBED:
        probe = {
            "type": "http",
            "method": method,
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
            "headers": [],
        }
        if any(not isinstance(r, Mount) and r.matches(probe)[0] is Match.FULL for r in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers or None)


def install(app: FastAPI) -> None:
    app.add_exception_handler(CiteqaError, _citeqa_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
