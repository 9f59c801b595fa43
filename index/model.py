"""The Index held in memory: documents, the chunk and sentence tables, their vectors, and the searchers.

An Index is never changed in place: adding or removing a document builds a new one, so a reader holding
the old object keeps a consistent view while a write is under way.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from index.documents import Document
from index.lexical import Lexical
from index.vectors import VectorStore, make_store


@dataclass(frozen=True)
class ChunkRow:
    doc_id: str
    start: int
    end: int
    s0: int  # its sentences are rows s0..s1-1 of the sentence table
    s1: int


@dataclass(frozen=True)
class SentenceRow:
    doc_id: str
    start: int
    end: int
    heading: bool
    chunk: int  # first chunk row that holds it


@dataclass(frozen=True)
class DocSpan:
    c0: int
    c1: int
    s0: int
    s1: int


@dataclass(frozen=True)
class Index:
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: tuple[ChunkRow, ...]
    sentences: tuple[SentenceRow, ...]
    spans: dict[str, DocSpan]
    chunk_vectors: np.ndarray  # (len(chunks), dim) float32, unit rows
    sentence_vectors: np.ndarray  # (len(sentences), dim)
    lexical: Lexical
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def store(self) -> VectorStore:
        """Exact while small, approximate beyond (index.vectors.spec_for); reuses the previous Index's structure."""
        return make_store(self.chunk_vectors, self.layout())

    def layout(self) -> tuple[tuple[str, str, int, int], ...]:
        """(doc_id, content hash, first chunk row, end row) per document: what a vector store may share."""
        return tuple((d, self.documents[d].content_hash, s.c0, s.c1) for d, s in self.spans.items() if d in self.documents)

    def chunk_text(self, row: int) -> str:
        c = self.chunks[row]
        return self.documents[c.doc_id].text[c.start : c.end]

    def sentence_text(self, row: int) -> str:
        s = self.sentences[row]
        return self.documents[s.doc_id].text[s.start : s.end]

    def rows_of(self, doc_ids: list[str] | tuple[str, ...]) -> np.ndarray:
        spans = [self.spans[d] for d in doc_ids if d in self.spans]
        if not spans:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(s.c0, s.c1, dtype=np.int64) for s in spans])


def library_versions() -> dict[str, str]:
    out = {}
    for name in ("citeqa", "faiss-cpu", "numpy", "sentence-transformers", "torch", "bm25s", "pysbd", "onnxruntime"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out
