"""The /v1 routes and /health, /metrics: thin wrappers that validate, call one engine method, and shape JSON.
Sync functions on purpose: FastAPI runs them in its threadpool, and the engine is thread-safe (reads take one
index reference; writes are serialised and swap the reference when done)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from api.deps import ConfigDep, EngineDep, WriteAccess
from api.errors import responses
from api.limits import upload_too_large
from api.schemas import AnswerOut, AskRequest, DeleteOut, DocumentList, DocumentOut, ExamplesOut, HealthOut, UploadOut
from index.clean import blocks
from qa.examples import heading_question, headings, title_case

v1 = APIRouter(prefix="/v1")
ops = APIRouter()

MAX_OFFSET = 2**53  # past any real index, and within what SQLite and JSON clients can hold (2**63 answered 500)
MAX_STEM = 120  # UTF-8 bytes of an uploaded file's name kept for its doc id and file (file systems allow 255)


def short_name(filename: str) -> str:
    """'<251 y>.txt' -> '<120 y>.txt': a long name still uploads, its doc id cut to a readable length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, suffix = name, ""
    cut = stem.encode("utf-8")[:MAX_STEM].decode("utf-8", "ignore")
    return f"{cut}.{suffix}" if suffix else cut


DocId = Annotated[str, Path(max_length=300, description="A document id, e.g. `rubio-arevalo-meeting-feb-2025`.")]


@v1.post(
    "/ask",
    response_model=AnswerOut,
    tags=["ask"],
    responses=responses(400, 404, 413, 422),
    summary="Answer a question with cited passages",
)
def ask(body: AskRequest, engine: EngineDep, config: ConfigDep) -> dict[str, Any]:
    """Ranked passages with exact offsets (`document.text[start:end] == text`) and the single best answer
    sentence verbatim, or `answer: null` when the documents don't answer. `doc_ids` restricts the search;
    an unknown id answers 404."""
    doc_ids = list(dict.fromkeys(body.doc_ids)) if body.doc_ids else None
    for doc_id in doc_ids or ():
        engine.document(doc_id)  # DocumentNotFound -> 404
    history = (body.history or [])[-config.max_history :] or None
    return engine.ask(body.question, top_k=body.top_k, doc_ids=doc_ids, history=history).to_dict()


MAX_EXAMPLES = 5
EXAMPLE_DOCS = 20  # documents read for headings
EXAMPLE_TRIES = 12  # candidate questions asked


@v1.get("/examples", response_model=ExamplesOut, tags=["ask"], summary="Example questions from the documents' headings")
def examples(request: Request, engine: EngineDep) -> dict[str, Any]:
    """Up to five questions made from headings in the documents (`What about <heading>?`), each one that citeqa
    answers; none when the documents have no such headings. Worked out once per set of documents."""
    _, docs = engine.page(0, EXAMPLE_DOCS)
    key = tuple((d["doc_id"], d.get("characters")) for d in docs)
    cached = getattr(request.app.state, "examples", None)
    if cached and cached[0] == key:
        return {"examples": cached[1]}
    per_doc = [sorted(headings(engine.document(d["doc_id"]).text), key=title_case, reverse=True) for d in docs]
    rounds = max(map(len, per_doc), default=0)  # one heading of each document in turn, title-cased ones first
    candidates = [(d["doc_id"], hs[i]) for i in range(rounds) for d, hs in zip(docs, per_doc) if i < len(hs)]
    found = []
    for doc_id, heading in candidates[:EXAMPLE_TRIES]:
        question = heading_question(heading)
        if engine.ask(question, top_k=1).to_dict().get("answered"):
            found.append({"question": question, "doc_id": doc_id, "heading": heading})
        if len(found) == MAX_EXAMPLES:
            break
    request.app.state.examples = (key, found)
    return {"examples": found}


@v1.get(
    "/documents",
    response_model=DocumentList,
    tags=["documents"],
    responses=responses(422),
    summary="List the documents, a page at a time (by doc_id)",
)
def list_documents(
    engine: EngineDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    total, docs = engine.page(offset, limit)
    return {
        "count": len(docs),
        "total": total,
        "offset": offset,
        "limit": limit,
        "documents": docs,
        "skipped": [{"source": s.source, "reason": s.reason} for s in engine.skipped()],
    }


@v1.get(
    "/documents/{doc_id}",
    response_model=DocumentOut,
    tags=["documents"],
    responses=responses(404, 422),
    summary="One document with the full text that citations index",
)
def get_document(doc_id: DocId, engine: EngineDep) -> dict[str, Any]:
    doc = engine.document(doc_id)
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source,
        "metadata": dict(doc.metadata),
        "characters": len(doc.text),
        "text": doc.text,
        "type": doc.type,
        "pages": [
            {"number": p.number, "label": p.label, "start": p.start, "end": p.end, "ocr": p.ocr, "kind": p.kind}
            for p in doc.parts
        ],
        # the blocks the indexer reads (index.clean): a hard-wrapped paragraph is one block, so the page shows
        # paragraphs without guessing at line wraps itself
        "paragraphs": [[b.start, b.end] for b in blocks(doc.text)],
    }


@v1.get(
    "/documents/{doc_id}/file",
    tags=["documents"],
    responses={**responses(404, 422), 200: {"content": {"*/*": {}}}},
    response_class=FileResponse,
    summary="The original file of a document (a PDF opens at #page=N)",
)
def get_document_file(doc_id: DocId, engine: EngineDep) -> FileResponse:
    from index.formats import format_for

    path = engine.original(doc_id)
    media = format_for(path.suffix).media_type
    return FileResponse(path, media_type=media, filename=path.name, content_disposition_type="inline")


@v1.post(
    "/documents",
    response_model=UploadOut,
    status_code=201,
    tags=["documents"],
    responses=responses(400, 401, 403, 409, 413, 415, 422, 503, 507),
    summary="Upload a document (needs the API key)",
)
def upload_document(
    _: WriteAccess,
    engine: EngineDep,
    config: ConfigDep,
    request: Request,
    response: Response,
    file: Annotated[
        UploadFile,
        File(
            description="A document (.txt, .md, .html, .pdf, .docx, .pptx, .xlsx, .csv, .odt, "
            ".rtf, .epub, .eml, .png, .jpg, .tiff), at most 20 MB."
        ),
    ],
    title: Annotated[str | None, Form(max_length=300, description="Title; default: the file's own.")] = None,
) -> dict[str, Any]:
    """Indexes only the new document's passages, keeps the file in the index folder's `uploads/` (citeqa owns
    it), and returns once the document is answerable and durable. The same text twice answers 409 with the existing `doc_id`."""
    data = file.file.read(config.max_upload_bytes + 1)
    if len(data) > config.max_upload_bytes:
        raise HTTPException(413, upload_too_large(config.max_upload_bytes))
    doc, created = engine.add(data, short_name(file.filename or ""), (title or "").strip() or None)
    response.headers["Location"] = str(request.url_for("get_document", doc_id=doc.doc_id).path)
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source,
        "characters": len(doc.text),
        "created": created,
    }


@v1.delete(
    "/documents/{doc_id}",
    response_model=DeleteOut,
    tags=["documents"],
    responses=responses(401, 403, 404, 422, 503, 507),
    summary="Delete a document (needs the API key)",
)
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
