"""Documents -> an in-memory Index, re-embedding only what changed.

`build(documents, embedder, params, previous)` is the one verb: documents whose content hash matches the
previous index keep their chunks, sentences, vectors and tokens; the rest are chunked and embedded.
Adding or removing one document (the HTTP API) is a build with one document more or less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.chunk import CHUNKER_VERSION, ChunkParams, chunk
from index.documents import Document, text_hash
from index.embed import Embedder
from index.lexical import Lexical, tokenize
from index.model import ChunkRow, DocSpan, Index, SentenceRow, library_versions
from index.sentences import SPLITTER
from index.vectorize import MODE as SENTENCE_VECTORS
from index.vectorize import DocParts, flat, vectorize

EMBED_TITLE = True  # passages are embedded as "title. passage" (measured: see docs/QUALITY.md)


@dataclass(frozen=True)
class _Parts:
    chunks: list[ChunkRow]
    sentences: list[SentenceRow]
    chunk_vectors: np.ndarray | None
    sentence_vectors: np.ndarray | None
    tokens: list[list[str]]


def passage_embed_text(title: str, passage: str) -> str:
    return f"{flat(title)}. {flat(passage)}" if EMBED_TITLE and title else flat(passage)


def _fresh_parts(doc: Document, params: ChunkParams) -> _Parts:
    chunks = chunk(doc, params)
    sent_pos: dict[int, int] = {}
    sentences: list[SentenceRow] = []
    rows: list[ChunkRow] = []
    for c in chunks:
        for s in c.sentences:
            if s.start not in sent_pos:
                sent_pos[s.start] = len(sentences)
                sentences.append(SentenceRow(doc.doc_id, s.start, s.end, s.heading, len(rows)))
        rows.append(ChunkRow(doc.doc_id, c.start, c.end, sent_pos[c.sentences[0].start], sent_pos[c.sentences[-1].start] + 1))
    tokens = tokenize([f"{doc.title}\n{doc.text[r.start:r.end]}" for r in rows])
    return _Parts(rows, sentences, None, None, tokens)


def _reused_parts(prev: Index, doc_id: str) -> _Parts:
    span = prev.spans[doc_id]
    c_shift, s_shift = span.c0, span.s0
    chunks = [
        ChunkRow(r.doc_id, r.start, r.end, r.s0 - s_shift, r.s1 - s_shift) for r in prev.chunks[span.c0 : span.c1]
    ]
    sentences = [
        SentenceRow(r.doc_id, r.start, r.end, r.heading, r.chunk - c_shift) for r in prev.sentences[span.s0 : span.s1]
    ]
    return _Parts(
        chunks,
        sentences,
        prev.chunk_vectors[span.c0 : span.c1],
        prev.sentence_vectors[span.s0 : span.s1],
        prev.lexical.tokens[span.c0 : span.c1],
    )


def compatible(prev: Index | None, embedder: Embedder, params: ChunkParams) -> bool:
    if prev is None:
        return False
    m = prev.manifest
    return bool(m.get("embedder") == embedder.identity() and m.get("chunking") == chunking_manifest(params))


def chunking_manifest(params: ChunkParams) -> dict[str, Any]:
    return {**params.as_dict(), "splitter": SPLITTER, "sentence_vectors": SENTENCE_VECTORS, "embed_title": EMBED_TITLE,
            "version": CHUNKER_VERSION}


def build(
    documents: Sequence[Document],
    embedder: Embedder,
    params: ChunkParams | None = None,
    previous: Index | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> tuple[Index, list[str]]:
    """(index, ids of the documents that were embedded). `progress(done, total)` counts texts embedded."""
    params = params or ChunkParams()
    reuse = compatible(previous, embedder, params)
    parts: dict[str, _Parts] = {}
    embedded: list[str] = []
    for doc in sorted(documents, key=lambda d: d.doc_id):
        old = previous.documents.get(doc.doc_id) if (reuse and previous) else None
        if old is not None and previous is not None and old.content_hash == doc.content_hash:
            parts[doc.doc_id] = _reused_parts(previous, doc.doc_id)
        else:
            parts[doc.doc_id] = _fresh_parts(doc, params)
            embedded.append(doc.doc_id)

    docs = {d.doc_id: d for d in sorted(documents, key=lambda d: d.doc_id)}
    items = [DocParts(docs[i].title, docs[i].text, [(r.start, r.end) for r in parts[i].chunks],
                      [(r.start, r.end, r.chunk) for r in parts[i].sentences]) for i in embedded]
    total = sum(len(it.chunks) + len(it.sentences) for it in items)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    chunk_vecs, sent_vecs = vectorize(embedder, items, passage_embed_text, progress=tick)
    at_c = at_s = 0
    for doc_id in embedded:
        p = parts[doc_id]
        nc, ns = len(p.chunks), len(p.sentences)
        parts[doc_id] = _Parts(p.chunks, p.sentences, chunk_vecs[at_c : at_c + nc], sent_vecs[at_s : at_s + ns], p.tokens)
        at_c, at_s = at_c + nc, at_s + ns

    index = _concat(docs, parts, embedder, params)
    return index, embedded


def _concat(docs: dict[str, Document], parts: dict[str, _Parts], embedder: Embedder, params: ChunkParams) -> Index:
    chunks: list[ChunkRow] = []
    sentences: list[SentenceRow] = []
    spans: dict[str, DocSpan] = {}
    tokens: list[list[str]] = []
    cvecs: list[np.ndarray] = []
    svecs: list[np.ndarray] = []
    for doc_id, p in parts.items():
        c0, s0 = len(chunks), len(sentences)
        chunks += [ChunkRow(r.doc_id, r.start, r.end, r.s0 + s0, r.s1 + s0) for r in p.chunks]
        sentences += [SentenceRow(r.doc_id, r.start, r.end, r.heading, r.chunk + c0) for r in p.sentences]
        spans[doc_id] = DocSpan(c0, len(chunks), s0, len(sentences))
        tokens += p.tokens
        assert p.chunk_vectors is not None and p.sentence_vectors is not None
        cvecs.append(p.chunk_vectors)
        svecs.append(p.sentence_vectors)
    dim = embedder.dim
    manifest = {
        "format": 1,
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "embedder": embedder.identity(),
        "chunking": chunking_manifest(params),
        "documents": {d: docs[d].content_hash for d in docs},
        "corpus_hash": text_hash("\n".join(f"{d}:{docs[d].content_hash}" for d in docs)),
        "counts": {"documents": len(docs), "chunks": len(chunks), "sentences": len(sentences)},
        "versions": library_versions(),
    }
    return Index(
        manifest=manifest,
        documents=docs,
        chunks=tuple(chunks),
        sentences=tuple(sentences),
        spans=spans,
        chunk_vectors=np.concatenate(cvecs) if cvecs else np.zeros((0, dim), np.float32),
        sentence_vectors=np.concatenate(svecs) if svecs else np.zeros((0, dim), np.float32),
        lexical=Lexical(tokens),
    )
