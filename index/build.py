"""Documents -> PreparedDocuments (chunks, sentences, lexical terms, vectors), ready for `Store.put`.

`prepare(documents, embedder, params, origin)` is the one verb; `embed_documents` is the one place a batch of
documents meets the model (passages as "title. passage", then every sentence), so a faster embedding scheme
changes only that function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.chunk import CHUNKER_VERSION, ChunkParams, chunk
from index.documents import Document
from index.embed import Embedder
from index.lexical import terms
from index.store import PreparedDocument

EMBED_TITLE = True  # passages are embedded as "title. passage" (measured: see docs/QUALITY.md)


@dataclass(frozen=True)
class Split:
    """One document cut up: chunks (start, end, first sentence ord, end ord), sentences (start, end, heading)."""

    chunks: list[tuple[int, int, int, int]]
    sentences: list[tuple[int, int, bool]]


def flat(text: str) -> str:
    return " ".join(text.split())


def passage_embed_text(title: str, passage: str) -> str:
    return f"{flat(title)}. {flat(passage)}" if EMBED_TITLE and title else flat(passage)


def chunking_manifest(params: ChunkParams) -> dict[str, Any]:
    return {**params.as_dict(), "splitter": "pysbd", "embed_title": EMBED_TITLE, "version": CHUNKER_VERSION}


def split_document(doc: Document, params: ChunkParams) -> Split:
    sent_pos: dict[int, int] = {}
    sentences: list[tuple[int, int, bool]] = []
    rows: list[tuple[int, int, int, int]] = []
    for c in chunk(doc, params):
        for s in c.sentences:
            if s.start not in sent_pos:
                sent_pos[s.start] = len(sentences)
                sentences.append((s.start, s.end, s.heading))
        rows.append((c.start, c.end, sent_pos[c.sentences[0].start], sent_pos[c.sentences[-1].start] + 1))
    return Split(rows, sentences)


def embed_documents(
    docs: Sequence[Document], splits: Sequence[Split], embedder: Embedder, progress: Callable[[int, int], Any] | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(chunk vectors, sentence vectors) per document, in one pass of the model over the batch."""
    texts: list[str] = []
    for d, sp in zip(docs, splits):
        texts += [passage_embed_text(d.title, d.text[s:e]) for s, e, _, _ in sp.chunks]
        texts += [flat(d.text[s:e]) for s, e, _ in sp.sentences]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(texts))

    vectors = embedder.embed(texts, progress=tick) if texts else np.zeros((0, embedder.dim), np.float32)
    out, at = [], 0
    for sp in splits:
        nc, ns = len(sp.chunks), len(sp.sentences)
        out.append((vectors[at : at + nc], vectors[at + nc : at + nc + ns]))
        at += nc + ns
    return out


def prepare(
    documents: Sequence[Document],
    embedder: Embedder,
    params: ChunkParams | None = None,
    origin: str = "corpus",
    progress: Callable[[int, int], Any] | None = None,
    splits: Sequence[Split] | None = None,
) -> list[PreparedDocument]:
    """`progress(done, total)` counts texts embedded; `splits` when the caller already split the documents."""
    params = params or ChunkParams()
    splits = list(splits) if splits is not None else [split_document(d, params) for d in documents]
    vectors = embed_documents(documents, splits, embedder, progress)
    return [
        PreparedDocument(
            d,
            origin,
            sp.chunks,
            sp.sentences,
            np.asarray(cv, np.float32),
            np.asarray(sv, np.float32),
            [terms(f"{d.title}\n{d.text[s:e]}") for s, e, _, _ in sp.chunks],
        )
        for d, sp, (cv, sv) in zip(documents, splits, vectors)
    ]


def library_versions() -> dict[str, str]:
    import importlib.metadata

    out = {}
    for name in ("citeqa", "faiss-cpu", "numpy", "tantivy", "onnxruntime", "sentence-transformers", "torch", "pysbd"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out
