"""Dependencies of the routes, as `Annotated` aliases: `EngineDep`, `ConfigDep`, `WriteAccess`.

Routes only call the `QAEngine` methods below (ask, list_documents, document, add, delete, health, original, skipped), so any
engine with those methods (the in-memory `qa.engine.Engine`, a Milvus-backed one) can serve.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.config import ApiConfig
from index.documents import Document
from qa.answer import Answer


class QAEngine(Protocol):
    def ask(
        self, question: str, top_k: int = 5, doc_ids: list[str] | None = None, history: list[str] | None = None
    ) -> Answer: ...

    def list_documents(self) -> list[dict[str, Any]]: ...

    def page(self, offset: int = 0, limit: int = 100) -> tuple[int, list[dict[str, Any]]]: ...

    def document(self, doc_id: str) -> Document: ...

    def add(self, data: bytes, filename: str, title: str | None = None) -> tuple[Document, bool]: ...

    def delete(self, doc_id: str) -> Document: ...

    def health(self) -> dict[str, Any]: ...

    def original(self, doc_id: str) -> Path: ...

    def skipped(self) -> list[Any]: ...


def get_engine(request: Request) -> QAEngine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_config(request: Request) -> ApiConfig:
    return request.app.state.config  # type: ignore[no-any-return]


EngineDep = Annotated[QAEngine, Depends(get_engine)]
ConfigDep = Annotated[ApiConfig, Depends(get_config)]

_bearer = HTTPBearer(auto_error=False, description="The server's CITEQA_API_KEY, as `Authorization: Bearer <key>`.")

DISABLED = (
    "writes are disabled on this server: start it with CITEQA_API_KEY=<a secret key> to enable uploads "
    "and deletes, then send 'Authorization: Bearer <key>'"
)
WRONG_KEY = "missing or wrong API key: send 'Authorization: Bearer <key>' with the server's CITEQA_API_KEY"


def key_problem(config: ApiConfig, authorization: str | None) -> HTTPException | None:
    """403 when the server has no key; 401 when the `Authorization: Bearer <key>` header is missing or wrong
    (constant-time compare); None when the key is right. Used on the request head by api.edge.WriteAuth."""
    if not config.api_key:
        return HTTPException(403, DISABLED)
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), config.api_key.encode()):
        return HTTPException(401, WRONG_KEY, headers={"WWW-Authenticate": "Bearer"})
    return None


def require_write_access(
    config: ConfigDep, request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """The same check as api.edge.WriteAuth (which already answered a bad key before the body was read); kept
    on the routes so the OpenAPI schema documents the bearer scheme."""
    problem = key_problem(config, request.headers.get("authorization"))
    if problem is not None:
        raise problem


WriteAccess = Annotated[None, Depends(require_write_access)]
