"""Documents -> PreparedDocuments (chunks, sentences, lexical terms, vectors), ready for `Store.put`.

`prepare(documents, embedder, params, origin)` is the one verb; `embed_documents` is the one place a batch of
documents meets the model (through index/vectorize.py: one pass over the text gives passage and sentence
vectors), so a faster embedding scheme changes only that function.
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
from index.sentences import SPLITTER
from index.store import PreparedDocument
from index.vectorize import MODE as SENTENCE_VECTORS
from index.vectorize import VECTORS_VERSION, DocParts, flat, vectorize

EMBED_TITLE = True  # passages are embedded as "title. passage" (measured: see docs/QUALITY.md)


@dataclass(frozen=True)
class Split:
    """One document cut up: chunks (start, end, first sentence ord, end ord), sentences (start, end, heading)."""

    chunks: list[tuple[int, int, int, int]]
    sentences: list[tuple[int, int, bool]]


def passage_embed_text(title: str, passage: str) -> str:
    return f"{flat(title)}. {flat(passage)}" if EMBED_TITLE and title else flat(passage)


def chunking_manifest(params: ChunkParams) -> dict[str, Any]:
    return {
        **params.as_dict(),
        "splitter": SPLITTER,
        "sentence_vectors": SENTENCE_VECTORS,
        # only sentence-first vectors changed (v2): a `separate` or `late` index of before still opens
        **({"vectors_version": VECTORS_VERSION} if SENTENCE_VECTORS == "sentences" else {}),
        "embed_title": EMBED_TITLE,
        "version": CHUNKER_VERSION,
    }


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
    docs: Sequence[Document],
    splits: Sequence[Split],
    embedder: Embedder,
    progress: Callable[[int, int], Any] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(chunk vectors, sentence vectors) per document from one pass of the model over the text (index/vectorize.py:
    passage vectors pooled from the sentence runs by default; a sentence pass too for embedders without token
    outputs)."""
    items = []
    for d, sp in zip(docs, splits):
        owner = [0] * len(sp.sentences)  # a sentence's vector is pooled from the first chunk that holds it
        for c, (_, _, s0, s1) in reversed(list(enumerate(sp.chunks))):
            owner[s0:s1] = [c] * (s1 - s0)
        items.append(
            DocParts(
                d.title,
                d.text,
                [(s, e) for s, e, _, _ in sp.chunks],
                [(s, e, owner[k]) for k, (s, e, _) in enumerate(sp.sentences)],
            )
        )
    total = sum(len(it.chunks) + len(it.sentences) for it in items)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    chunk_vecs, sent_vecs = vectorize(embedder, items, passage_embed_text, progress=tick)
    out, at_c, at_s = [], 0, 0
    for it in items:
        nc, ns = len(it.chunks), len(it.sentences)
        out.append((chunk_vecs[at_c : at_c + nc], sent_vecs[at_s : at_s + ns]))
        at_c, at_s = at_c + nc, at_s + ns
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
