"""The Engine over Milvus: the same public methods as `qa.engine.Engine`, but nothing lives in the process
except cached corpus statistics.

`ask` makes two round trips to Milvus whatever the corpus size: `MilvusStore.candidates` (one search returning
the passage rows with their vectors, terms and document fields, scored dense and BM25 in the process) and
`MilvusStore.sentences` for the passages that can reach the rerank or the answer. It then runs the unchanged
`qa.answer.answer` on a small per-question Index of those candidates.
# TODO(storage): once the generic Engine over a Store is on main, this per-question Index (_GivenScores,
# _OneVector, _stand_in) and add/delete/list/health/sync go, in favour of Engine over MilvusStore.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.build import build, chunking_manifest
from index.chunk import ChunkParams
from index.documents import Document, doc_id_for, make_document, read_corpus
from index.embed import Embedder, load_embedder
from index.errors import DuplicateDocument, UnsupportedType
from index.extract import SUFFIXES
from index.lexical import Lexical, terms
from index.milvus_store import MilvusStore, StoreSpec, parse_store
from index.model import ChunkRow, DocSpan, Index, SentenceRow
from index.store import Candidate, PreparedDocument, SentenceRecord
from index.vectors import VectorStore
from qa.answer import Answer, AnswerConfig, answer, validate
from qa.followup import contextualize
from qa.retrieve import RetrievalConfig, retrieve

SYNC_BATCH_DOCS = 32  # documents embedded and written per step of `sync` (one commit each)


def expected_manifest(embedder: Embedder, params: ChunkParams | None = None) -> dict[str, Any]:
    return {"embedder": embedder.identity(), "dim": int(embedder.dim),
            "chunking": chunking_manifest(params or ChunkParams())}


def prepared(index: Index, doc_id: str, origin: str) -> PreparedDocument:
    """One document of a freshly built Index -> what Store.put writes."""
    doc, span = index.documents[doc_id], index.spans[doc_id]
    chunks = [(c.start, c.end, c.s0 - span.s0, c.s1 - span.s0) for c in index.chunks[span.c0 : span.c1]]
    sentences = [(s.start, s.end, s.heading) for s in index.sentences[span.s0 : span.s1]]
    return PreparedDocument(doc, origin, chunks, sentences, index.chunk_vectors[span.c0 : span.c1],
                            index.sentence_vectors[span.s0 : span.s1], index.lexical.tokens[span.c0 : span.c1])


def sync(
    settings: Any, embedder: Embedder, spec: StoreSpec | None = None,
    progress: Callable[[int, int], Any] | None = None, force: bool = False, store: MilvusStore | None = None,
) -> tuple[dict[str, int], list[str], list[str]]:
    """`qa index` into Milvus: write new and changed corpus documents in batches, remove corpus documents whose
    file is gone (uploads stay). Resumable: each batch is committed on its own, so a rerun after a kill skips
    what is done. -> ({"documents", "chunks"} in the store, ids embedded, warnings)."""
    spec = spec or parse_store(settings.store)
    docs, warnings = read_corpus(settings.corpus)
    store = store or MilvusStore(spec)
    store.connect(expected_manifest(embedder), create=True)
    have = {h["doc_id"]: h for h in store.headers(strong=True)}
    names = {d.doc_id for d in docs}
    gone = [h["doc_id"] for h in have.values() if h["origin"] == "corpus" and h["doc_id"] not in names]
    store.remove(gone)
    todo = [d for d in docs if force or have.get(d.doc_id, {}).get("content_hash") != d.content_hash]
    # rows without a committed document (an interrupted run) make every write a replace, to clear them
    resumed = store.count() != sum(int(h["chunks"]) for h in have.values() if h["doc_id"] not in gone)
    if progress:
        progress(0, len(todo))
    for lo in range(0, len(todo), SYNC_BATCH_DOCS):
        batch = todo[lo : lo + SYNC_BATCH_DOCS]
        index, _ = build(batch, embedder, ChunkParams(), None)
        fresh = not resumed and not any(d.doc_id in have for d in batch)
        store.put([prepared(index, d.doc_id, "corpus") for d in batch], fresh=fresh)
        if progress:
            progress(lo + len(batch), len(todo))
    if todo:
        store.flush()
    counts = {"documents": store.count("documents", "part == 0"), "chunks": store.count()}
    return counts, [d.doc_id for d in todo], warnings


class _GivenScores(Lexical):
    """BM25 scores already computed for the rows of a per-question Index; idf from the store's statistics."""

    def __init__(self, scores: np.ndarray, idf: Callable[[str], float]) -> None:
        self.tokens = [[] for _ in range(len(scores))]
        self.params = {}
        self._bm25 = None
        self._given, self._idf = scores, idf

    def scores(self, query: str) -> np.ndarray:
        return self._given

    def idf(self, term: str) -> float:
        return self._idf(term)


class _CandidateStore(VectorStore):
    """Exact inner product over a per-question Index's candidate vectors (at most a few hundred rows)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(self.vectors), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        if not len(rows) or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = self.vectors[rows] @ np.asarray(query, np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return scores[top].astype(np.float32), rows[top]

    def count(self) -> int:
        return len(self.vectors)

    def describe(self) -> dict[str, Any]:
        return {"type": "milvus-candidates", "vectors": self.count()}


class _OneVector(Embedder):
    """Hands `answer` the question vector computed for the Milvus search instead of embedding it again."""

    def __init__(self, inner: Embedder, text: str, vector: np.ndarray) -> None:
        self.inner, self.text, self.vector = inner, text, vector
        self.name, self.backend, self.dim = inner.name, inner.backend, inner.dim

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if list(texts) == [self.text]:
            return self.vector.reshape(1, -1)
        return self.inner.embed_batch(texts)


def _stand_in(pieces: list[tuple[int, int, str]], chars: int) -> str:
    """Text of length `chars` holding each (start, end, text) piece at its offsets, spaces elsewhere."""
    out, pos = [], 0
    for s, e, t in sorted(pieces):
        if e <= pos:
            continue
        if s > pos:
            out.append(" " * (s - pos))
            pos = s
        out.append(t[pos - s :])
        pos = e
    out.append(" " * max(0, chars - pos))
    return "".join(out)


@dataclass
class MilvusEngine:
    settings: Any
    embedder: Embedder
    store: MilvusStore
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    answering: AnswerConfig = field(default_factory=AnswerConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, settings: Any, build_if_missing: bool = False, embedder: Embedder | None = None,
             spec: StoreSpec | None = None) -> MilvusEngine:
        spec = spec or parse_store(settings.store)
        store = MilvusStore(spec)  # before the model loads: a wrong address or a locked file fails at once
        if not build_if_missing:
            store.require()
        embedder = embedder or load_embedder(settings.embedder)
        if build_if_missing and not store.exists() and Path(settings.corpus).is_dir():
            sync(settings, embedder, spec, store=store)
        store.connect(expected_manifest(embedder), create=False)
        store.stats()  # corpus statistics load with the process, not with its first question
        return cls(settings, embedder, store)

    # -- reads --------------------------------------------------------------------------------------------

    def ask(self, question: str, top_k: int = 5, doc_ids: list[str] | None = None,
            history: list[str] | None = None) -> Answer:
        q = validate(question, top_k)
        ctx = contextualize(q, history)
        t0 = time.perf_counter()
        qvec = self.embedder.embed_one(ctx.query)
        t1 = time.perf_counter()
        mini = self._candidates(ctx.query, qvec, top_k, doc_ids)
        t2 = time.perf_counter()
        result = answer(question, mini, _OneVector(self.embedder, ctx.query, qvec), top_k, doc_ids, history,
                        self.retrieval, self.answering)
        result.timings_ms["embed"] = (t1 - t0) * 1000
        result.timings_ms["milvus"] = (t2 - t1) * 1000
        result.timings_ms["total"] = result.timings_ms.get("total", 0.0) + (t2 - t0) * 1000
        return result

    def _candidates(self, query: str, qvec: np.ndarray, top_k: int, doc_ids: list[str] | None) -> Index:
        cfg = self.retrieval
        depth = max(cfg.candidates, top_k, self.answering.depth)
        lexical_only = cfg.mode == "lexical" and self.store.full_text
        cands = self.store.candidates(None if lexical_only else qvec, [] if cfg.mode == "dense" else terms(query),
                                      depth, doc_ids)
        by_id = {c.chunk.chunk_id: c for c in cands}
        # Which passages can reach the rerank or the answer: ranked on a first Index without sentences.
        first = self._mini(by_id, {})
        mode = "hybrid" if cfg.mode == "full" else cfg.mode
        k = max(top_k, self.answering.depth, cfg.rerank_depth if cfg.mode == "full" else 0)
        hits = retrieve(query, first, k, qvec, doc_ids, dataclasses.replace(cfg, mode=mode))
        order = self._order(by_id)
        return self._mini(by_id, self.store.sentences([order[h.row] for h in hits]))

    @staticmethod
    def _order(by_id: dict[int, Candidate]) -> list[int]:
        return sorted(by_id, key=lambda i: (by_id[i].chunk.doc_id, by_id[i].chunk.start))

    def _mini(self, by_id: dict[int, Candidate], sentences: dict[int, list[SentenceRecord]]) -> Index:
        """A per-question Index over the candidates (doc_id, start order); sentences only where given."""
        order = self._order(by_id)
        chunks: list[ChunkRow] = []
        sents: list[SentenceRow] = []
        svecs: list[Any] = []
        spans: dict[str, DocSpan] = {}
        docs: dict[str, Document] = {}
        pieces: dict[str, list[tuple[int, int, str]]] = {}
        placed: dict[tuple[str, int], int] = {}  # (doc_id, sentence ord) -> row: passages may share a sentence
        for cid in order:
            c = by_id[cid].chunk
            if c.doc_id not in spans:
                spans[c.doc_id] = DocSpan(len(chunks), len(chunks), len(sents), len(sents))
            idx = []
            for s in sentences.get(cid, []):
                if (s.doc_id, s.ord) not in placed:
                    placed[(s.doc_id, s.ord)] = len(sents)
                    sents.append(SentenceRow(s.doc_id, s.start, s.end, s.heading, len(chunks)))
                    svecs.append(s.vector)
                idx.append(placed[(s.doc_id, s.ord)])
            lo, hi = (min(idx), max(idx) + 1) if idx else (len(sents), len(sents))
            chunks.append(ChunkRow(c.doc_id, c.start, c.end, lo, hi))
            sp = spans[c.doc_id]
            spans[c.doc_id] = DocSpan(sp.c0, len(chunks), sp.s0, len(sents))
            pieces.setdefault(c.doc_id, []).append((c.start, c.end, c.text))
        for d, p in pieces.items():
            cid = next(i for i in order if by_id[i].chunk.doc_id == d)
            meta = self.store.chunk_document(cid)
            c = by_id[cid].chunk
            if any(len(t) != e - s for s, e, t in p):  # a passage too long for a VARCHAR: read the document
                docs[d] = self.store.document(d)
            else:
                docs[d] = Document(d, c.title, _stand_in(p, int(meta.get("chars", 0))), str(meta.get("source", "")),
                                   dict(meta.get("metadata") or {}))
        dim = int(self.embedder.dim)
        vectors = np.asarray([by_id[i].chunk.vector for i in order], np.float32).reshape(-1, dim)
        stats = self.store.stats()
        mini = Index(
            manifest=dict(self.store.manifest or {}), documents=docs, chunks=tuple(chunks), sentences=tuple(sents),
            spans=spans, chunk_vectors=vectors, sentence_vectors=np.asarray(svecs, np.float32).reshape(-1, dim),
            lexical=_GivenScores(np.asarray([by_id[i].lexical for i in order], np.float32), stats.idf),
        )
        mini.__dict__["store"] = _CandidateStore(vectors)  # fills Index.store (a cached_property): always exact
        return mini

    def list_documents(self) -> list[dict[str, Any]]:
        _, page = self.store.documents(0, 1 << 31)
        return [{"doc_id": d.doc_id, "title": d.title, "source": d.source, "metadata": dict(d.metadata),
                 "characters": d.characters, "chunks": d.chunks} for d in page]

    def document(self, doc_id: str) -> Document:
        return self.store.document(doc_id)

    def health(self) -> dict[str, Any]:
        m = self.store.manifest or {}
        return {"status": "ok", "documents": self.store.count("documents", "part == 0"),
                "chunks": self.store.count(), "model": m.get("embedder", {}).get("model"),
                "embedder": m.get("embedder", {}), "store": self.store.describe(), "built_at": m.get("created_at")}

    # -- writes -------------------------------------------------------------------------------------------

    def add(self, data: bytes, filename: str, title: str | None = None) -> tuple[Document, bool]:
        """Add one file to the store (not to a corpus folder: replicas share no disk). -> (document, True)."""
        suffix = Path(filename).suffix.lower()
        if suffix not in SUFFIXES:
            raise UnsupportedType(f"unsupported file type {suffix or '(none)'!r}: citeqa reads {', '.join(SUFFIXES)}")
        with self._lock:
            base = doc_id_for(filename)
            doc_id, n = base, 1
            while self.store.headers([doc_id], strong=True):
                n += 1
                doc_id = f"{base}-{n}"
            doc = make_document(data, f"{doc_id}{suffix}", {"title": title} if title else None, doc_id=doc_id)
            same = self.store.duplicate_of(doc.content_hash)
            if same:
                raise DuplicateDocument(f"the same text is already indexed as {same!r}", same)
            index, _ = build([doc], self.embedder, ChunkParams(), None)
            self.store.put([prepared(index, doc.doc_id, "upload")])  # replaces leftovers of a write cut short
            return doc, True

    def delete(self, doc_id: str) -> Document:
        with self._lock:
            doc = self.document(doc_id)
            self.store.remove([doc_id])
            return doc
