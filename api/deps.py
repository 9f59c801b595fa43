"""Dependencies of the routes, as `Annotated` aliases: `EngineDep`, `ConfigDep`, `WriteAccess`.

Routes only call the `QAEngine` methods below (ask, list_documents, document, add, delete, health), so any
engine with those methods (the in-memory `qa.engine.Engine`, a Milvus-backed one) can serve.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.config import ApiConfig
from index.documents import Document
from qa.answer import Answer


class QAEngine(Protocol):
    def ask(self, question: str, top_k: int = 5, doc_ids: list[str] | None = None,
            history: list[str] | None = None) -> Answer: ...

    def list_documents(self) -> list[dict[str, Any]]: ...

    def page(self, offset: int = 0, limit: int = 100) -> tuple[int, list[dict[str, Any]]]: ...

    def document(self, doc_id: str) -> Document: ...

    def add(self, data: bytes, filename: str, title: str | None = None) -> tuple[Document, bool]: ...

    def delete(self, doc_id: str) -> Document: ...

    def health(self) -> dict[str, Any]: ...


def get_engine(request: Request) -> QAEngine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_config(request: Request) -> ApiConfig:
    return request.app.state.config  # type: ignore[no-any-return]


EngineDep = Annotated[QAEngine, Depends(get_engine)]
ConfigDep = Annotated[ApiConfig, Depends(get_config)]

_bearer = HTTPBearer(auto_error=False, description="The server's CITEQA_API_KEY, as `Authorization: Bearer <key>`.")

DISABLED = ("writes are disabled on this server: start it with CITEQA_API_KEY=<a secret key> to enable uploads "
            "and deletes, then send 'Authorization: Bearer <key>'")
WRONG_KEY = "missing or wrong API key: send 'Authorization: Bearer <key>' with the server's CITEQA_API_KEY"


def require_write_access(
    config: ConfigDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """403 when the server has no key; 401 when the request's key is missing or wrong (constant-time compare)."""
    if not config.api_key:
        raise HTTPException(403, DISABLED)
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, config.api_key.encode()):
        raise HTTPException(401, WRONG_KEY, headers={"WWW-Authenticate": "Bearer"})


WriteAccess = Annotated[None, Depends(require_write_access)]
