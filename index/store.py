"""The one storage interface that retrieval, answering and the engine read and write through.

Two implementations: the local store (the embedded default: FAISS for vectors, rows, text and lexical
statistics persisted beside it) and the Milvus store (scale-out). A name table picks one from the parsed
store address (`faiss`, `milvus:///path/file.db`, `milvus://host:19530`, `https://...`).

Shapes, for a question "When was it suspended?":
    store.candidates(qvec, ["suspend"], k=100, doc_ids=None)
        -> [Candidate(chunk=ChunkRecord(chunk_id=412, doc_id="safe-third-country", start=1290, end=1893,
                                        text="...", title="...", vector=array(384,)), dense=0.61, lexical=7.9), ...]
           the union of the dense top-k and the lexical top-k, every candidate scored on both sides
    store.sentences([412, 97]) -> {412: [SentenceRecord(...), ...], 97: [...]}   in document order
    store.idf(["suspend", "quetzal"]) -> {"suspend": 3.1, "quetzal": 9.2}        corpus-wide, over chunks
A read never sees half a document: a document's rows become visible together, at its commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from index.documents import Document


@dataclass(frozen=True)
class ChunkRecord:
    chunk_id: int  # store-wide, stable while the document is indexed
    doc_id: str
    start: int  # offsets into the document text: text == document.text[start:end]
    end: int
    text: str
    title: str
    vector: np.ndarray | None = None  # unit float32 (dim,), when the caller asked for vectors
    metadata: Mapping[str, str] = field(default_factory=dict)  # the document's (date, author, ...)


@dataclass(frozen=True)
class SentenceRecord:
    doc_id: str
    ord: int  # position of the sentence in its document (0-based), so neighbours can be found
    start: int
    end: int
    text: str
    heading: bool
    vector: np.ndarray | None = None


@dataclass(frozen=True)
class Candidate:
    chunk: ChunkRecord
    dense: float  # cosine of the chunk vector with the question vector (0.0 when no vector was given)
    lexical: float  # BM25 of the question terms over title + passage (0.0 when no term matches)


@dataclass(frozen=True)
class DocumentSummary:
    doc_id: str
    title: str
    source: str
    metadata: Mapping[str, str]
    characters: int
    chunks: int
    extra: Mapping[str, Any] = field(default_factory=dict)  # type, pages, origin, status: whatever the store keeps


@dataclass(frozen=True)
class PreparedDocument:
    """One document ready to write: its rows and vectors, built by index.build from a Document."""

    document: Document
    origin: str  # "corpus" (a file in the user's folder) or "upload" (a file citeqa owns)
    chunks: Sequence[tuple[int, int, int, int]]  # (start, end, first sentence ord, end sentence ord) per chunk
    sentences: Sequence[tuple[int, int, bool]]  # (start, end, heading) per sentence, in document order
    chunk_vectors: np.ndarray  # (len(chunks), dim) float32 unit rows
    sentence_vectors: np.ndarray  # (len(sentences), dim)
    chunk_terms: Sequence[Sequence[str]]  # stemmed lexical terms of title + passage, per chunk
    fingerprint: str | None = None  # "size:mtime_ns:metadata hash" of a corpus file: unchanged files skip extraction


@dataclass(frozen=True)
class DocumentState:
    """What `qa index` needs to skip an unchanged file without reading it."""

    doc_id: str
    source: str
    origin: str
    content_hash: str
    fingerprint: str | None


class Store(Protocol):
    kind: str  # "faiss" or "milvus"

    # -- reads ----------------------------------------------------------------------------------------------
    def candidates(
        self, qvec: np.ndarray | None, query_terms: Sequence[str], k: int, doc_ids: Sequence[str] | None = None
    ) -> list[Candidate]: ...

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, list[SentenceRecord]]: ...

    def idf(self, terms: Iterable[str]) -> dict[str, float]: ...

    def vocabulary(self) -> Mapping[str, int]: ...  # lower-case surface word -> chunks holding it (spelling)

    def document(self, doc_id: str) -> Document: ...  # raises DocumentNotFound

    def documents(self, offset: int = 0, limit: int = 100) -> tuple[int, list[DocumentSummary]]: ...  # (total, page)

    def generation(self) -> int: ...  # grows with every committed write, from any process

    def describe(self) -> dict[str, Any]: ...

    def counts(self) -> dict[str, int]: ...  # {"documents": n, "chunks": n}

    def manifest(self) -> dict[str, Any]: ...  # embedder identity, chunking, built_at

    def inventory(self) -> dict[str, DocumentState]: ...  # doc_id -> state, for `qa index`

    def state(self, doc_id: str) -> DocumentState | None: ...

    def sources(self, origin: str) -> set[str]: ...  # file names of the documents from "corpus" or "upload"

    def exclusions(self) -> set[str]: ...  # corpus file names the user deleted through citeqa

    def find_hash(self, content_hash: str) -> str | None: ...  # doc_id holding this exact text

    def refresh(self) -> bool: ...  # catch up with other processes' commits; True when something changed

    # -- writes ---------------------------------------------------------------------------------------------
    def writing(self) -> AbstractContextManager[Any]: ...  # the store's write lock, for check-then-put

    def writing_if_free(self) -> AbstractContextManager[bool]: ...  # the lock if nobody holds it (yields False if not)

    def put(self, docs: Sequence[PreparedDocument]) -> int: ...  # one commit; replaces earlier versions -> generation

    def remove(self, doc_ids: Sequence[str], exclude: bool = False) -> int: ...  # one commit; exclude: record

    # corpus-folder documents among them as exclusions (in the same commit) -> generation

    def merge(self) -> None: ...  # maintenance: rebuild derived structures (vector index) off the write path

    def close(self) -> None: ...
