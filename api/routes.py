"""The /v1 routes and /health, /metrics: thin wrappers that validate, call one engine method, and shape JSON.
Sync functions on purpose: FastAPI runs them in its threadpool, and the engine is thread-safe (reads take one
index reference; writes are serialised and swap the reference when done)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, Response, UploadFile

from api.deps import ConfigDep, EngineDep, WriteAccess
from api.errors import responses
from api.limits import upload_too_large
from api.schemas import AnswerOut, AskRequest, DeleteOut, DocumentList, DocumentOut, HealthOut, UploadOut

v1 = APIRouter(prefix="/v1")
ops = APIRouter()

DocId = Annotated[str, Path(max_length=300, description="A document id, e.g. `rubio-arevalo-meeting-feb-2025`.")]


@v1.post("/ask", response_model=AnswerOut, tags=["ask"], responses=responses(400, 404, 413, 422),
         summary="Answer a question with cited passages")
def ask(body: AskRequest, engine: EngineDep, config: ConfigDep) -> dict[str, Any]:
    """Ranked passages with exact offsets (`document.text[start:end] == text`) and the single best answer
    sentence verbatim, or `answer: null` when the documents don't answer. `doc_ids` restricts the search;
    an unknown id answers 404."""
    doc_ids = list(dict.fromkeys(body.doc_ids)) if body.doc_ids else None
    for doc_id in doc_ids or ():
        engine.document(doc_id)  # DocumentNotFound -> 404
    history = (body.history or [])[-config.max_history:] or None
    return engine.ask(body.question, top_k=body.top_k, doc_ids=doc_ids, history=history).to_dict()


@v1.get("/documents", response_model=DocumentList, tags=["documents"], responses=responses(422),
        summary="List the documents, a page at a time (by doc_id)")
def list_documents(engine: EngineDep, offset: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    total, docs = engine.page(offset, limit)
    return {"count": len(docs), "total": total, "offset": offset, "limit": limit, "documents": docs, "skipped": []}


@v1.get("/documents/{doc_id}", response_model=DocumentOut, tags=["documents"], responses=responses(404, 422),
        summary="One document with the full text that citations index")
def get_document(doc_id: DocId, engine: EngineDep) -> dict[str, Any]:
    doc = engine.document(doc_id)
    return {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "metadata": dict(doc.metadata),
            "characters": len(doc.text), "text": doc.text}


@v1.post("/documents", response_model=UploadOut, status_code=201, tags=["documents"],
         responses=responses(400, 401, 403, 409, 413, 415, 422, 503, 507), summary="Upload a document (needs the API key)")
def upload_document(
    _: WriteAccess,
    engine: EngineDep,
    config: ConfigDep,
    request: Request,
    response: Response,
    file: Annotated[UploadFile, File(description="A .txt, .md, .html or .pdf file, at most 20 MB.")],
    title: Annotated[str | None, Form(max_length=300, description="Title; default: the file's own.")] = None,
) -> dict[str, Any]:
    """Indexes only the new document's passages, keeps the file in the index folder's `uploads/` (citeqa owns
    it), and returns once the document is answerable and durable. The same text twice answers 409 with the existing `doc_id`."""
    data = file.file.read(config.max_upload_bytes + 1)
    if len(data) > config.max_upload_bytes:
        raise HTTPException(413, upload_too_large(config.max_upload_bytes))
    doc, created = engine.add(data, file.filename or "", (title or "").strip() or None)
    response.headers["Location"] = str(request.url_for("get_document", doc_id=doc.doc_id).path)
    return {"doc_id": doc.doc_id, "title": doc.title, "source": doc.source, "characters": len(doc.text),
            "created": created}


@v1.delete("/documents/{doc_id}", response_model=DeleteOut, tags=["documents"],
           responses=responses(401, 403, 404, 422, 503, 507), summary="Delete a document (needs the API key)")
def delete_document(_: WriteAccess, doc_id: DocId, engine: EngineDep) -> dict[str, Any]:
    """Removes the document from the index. An uploaded file is removed too; a file of the user's corpus folder
    is left alone and excluded (`qa index` will not bring it back)."""
    doc = engine.delete(doc_id)
    return {"doc_id": doc.doc_id, "title": doc.title, "deleted": True}


@ops.get("/health", response_model=HealthOut, tags=["ops"], summary="Status, index size, model, build time")
def health(engine: EngineDep) -> dict[str, Any]:
    return engine.health()


@ops.get("/metrics", tags=["ops"], include_in_schema=False)
def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    return Response(m.render(), media_type=m.content_type)
