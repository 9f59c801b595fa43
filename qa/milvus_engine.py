# mypy: ignore-errors
# Broken until branch `milvus` ports this engine to the Store protocol (index/store.py): index.build.build and
# index.model are gone.
"""The Engine over Milvus: the same public methods as `qa.engine.Engine`, but nothing lives in the process.

Every read goes to Milvus, so several `qa serve` replicas sharing one store answer identically and a document
uploaded through one is answerable through the others at once (collections use Strong consistency).

`ask` fetches candidates from Milvus (dense top-N and BM25 top-N, with the document filter applied there),
then builds a small per-query `Index` holding just those chunks and the sentences of the ones that can reach
the rerank or the answer, and runs the unchanged `qa.answer.answer` on it. Candidate documents get a stand-in
text of the right length that holds the candidates' passages at their offsets: `answer` only ever slices
passage and sentence spans, which lie inside the passages, so offsets and quoted text stay exact.
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
from index.model import ChunkRow, DocSpan, Index, SentenceRow

from index.build import build, chunking_manifest
from index.chunk import ChunkParams
from index.documents import Document, doc_id_for, make_document, read_corpus
from index.embed import Embedder, load_embedder
from index.errors import DocumentNotFound, DuplicateDocument, UnsupportedType
from index.extract import SUFFIXES
from index.lexical import Lexical, terms
from index.milvus_store import DocRows, MilvusStore, StoreSpec, parse_store
from index.vectors import VectorStore
from qa.answer import Answer, AnswerConfig, answer, validate
from qa.followup import contextualize
from qa.retrieve import RetrievalConfig, retrieve

SYNC_BATCH_DOCS = 16  # documents embedded and written per step of `sync` (each one committed on its own)


def expected_manifest(embedder: Embedder, params: ChunkParams | None = None) -> dict[str, Any]:
    return {"embedder": embedder.identity(), "dim": int(embedder.dim),
            "chunking": chunking_manifest(params or ChunkParams())}


def doc_rows(index: Index, doc_id: str, origin: str) -> DocRows:
    """One document of a freshly built Index -> the rows MilvusStore.put writes."""
    doc, span = index.documents[doc_id], index.spans[doc_id]
    chunks = [{"start": c.start, "end": c.end, "s0": c.s0 - span.s0, "s1": c.s1 - span.s0,
               "terms": " ".join(index.lexical.tokens[r])}
              for r, c in enumerate(index.chunks[span.c0 : span.c1], start=span.c0)]
    sentences = [{"start": s.start, "end": s.end, "heading": s.heading} for s in index.sentences[span.s0 : span.s1]]
    return DocRows(doc.doc_id, doc.title, doc.text, doc.source, dict(doc.metadata), origin, doc.content_hash,
                   chunks, sentences, index.chunk_vectors[span.c0 : span.c1],
                   index.sentence_vectors[span.s0 : span.s1])


def sync(
    settings: Any, embedder: Embedder, spec: StoreSpec | None = None,
    progress: Callable[[int, int], Any] | None = None, force: bool = False, store: MilvusStore | None = None,
) -> tuple[dict[str, int], list[str], list[str]]:
    """`qa index` into Milvus: write new and changed corpus documents, remove corpus documents whose file is
    gone (uploads stay). Resumable: each document is committed on its own, so a rerun skips what is done.
    -> ({"documents", "chunks"} in the store, ids embedded, warnings). `progress(done, total)` counts documents."""
    spec = spec or parse_store(settings.store)
    docs, warnings = read_corpus(settings.corpus)
    store = store or MilvusStore(spec)
    store.connect(expected_manifest(embedder), create=True)
    have = {h["doc_id"]: h for h in store.headers()}
    names = {d.doc_id for d in docs}
    for h in have.values():
        if h["origin"] == "corpus" and h["doc_id"] not in names:
            store.remove(h["doc_id"])
    todo = [d for d in docs if force or have.get(d.doc_id, {}).get("content_hash") != d.content_hash]
    # rows without a committed document (an interrupted run) make every write a replace, to clear them
    resumed = store.count() != sum(int(h["chunks"]) for h in have.values())
    for lo in range(0, len(todo), SYNC_BATCH_DOCS):
        batch = todo[lo : lo + SYNC_BATCH_DOCS]
        index, _ = build(batch, embedder, ChunkParams(), None)
        for d in batch:  # a document with no part 0 may still have rows from an interrupted run: replace
            store.put(doc_rows(index, d.doc_id, "corpus"), replace=d.doc_id in have or resumed)
        if progress:
            progress(lo + len(batch), len(todo))
    if todo:
        store.flush()
    counts = {"documents": store.count("documents", "part == 0"), "chunks": store.count()}
    return counts, [d.doc_id for d in todo], warnings


class _GivenScores(Lexical):
    """BM25 scores already computed (by Milvus) for the rows of a per-query Index; `idf(term)` is the
    corpus-wide one, from the store's chunk count and term table (asked once per query, lazily)."""

    def __init__(self, scores: np.ndarray, df: Callable[[list[str]], tuple[int, dict[str, int]]],
                 prefetch: list[str]) -> None:
        self.tokens = [[] for _ in range(len(scores))]
        self.params = {}
        self._bm25 = None
        self._given = scores
        self._df_of, self._prefetch = df, prefetch
        self._n: int | None = None
        self._df: dict[str, int] = {}

    def scores(self, query: str) -> np.ndarray:
        return self._given

    def idf(self, term: str) -> float:
        if self._n is None or term not in self._df:
            self._n, got = self._df_of(sorted({term, *self._prefetch} - set(self._df)))
            self._df.update(got)
        n, df = self._n, self._df.get(term, 0)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))


class _CandidateStore(VectorStore):
    """Exact inner product over a per-query Index's candidate vectors (at most a few hundred rows)."""

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
        return cls(settings, embedder, store)

    # -- reads --------------------------------------------------------------------------------------------

    def ask(self, question: str, top_k: int = 5, doc_ids: list[str] | None = None,
            history: list[str] | None = None) -> Answer:
        q = validate(question, top_k)
        ctx = contextualize(q, history)
        t0 = time.perf_counter()
        qvec = self.embedder.embed_one(ctx.query)
        t1 = time.perf_counter()
        focus = getattr(ctx, "focus", None) or ctx.query  # the text the answer step weighs terms of
        mini = self._candidates(ctx.query, qvec, top_k, doc_ids, terms(focus, question=True))
        t2 = time.perf_counter()
        result = answer(question, mini, _OneVector(self.embedder, ctx.query, qvec), top_k, doc_ids, history,
                        self.retrieval, self.answering)
        result.timings_ms["embed"] = (t1 - t0) * 1000
        result.timings_ms["milvus"] = (t2 - t1) * 1000
        result.timings_ms["total"] = result.timings_ms.get("total", 0.0) + (t2 - t0) * 1000
        return result

    def _candidates(self, query: str, qvec: np.ndarray, top_k: int, doc_ids: list[str] | None,
                    prefetch: list[str]) -> Index:
        cfg = self.retrieval
        depth = max(cfg.candidates, top_k, self.answering.depth)
        if doc_ids is not None and not doc_ids:
            return self._mini({}, {}, {}, {}, set(), {})
        rows: dict[str, dict[str, Any]] = {}
        if cfg.mode != "lexical" or not self._full_text():
            rows.update({r["id"]: r for r in self.store.search_dense(qvec, depth, doc_ids)})
        lexical: dict[str, float] = {}
        if cfg.mode != "dense":
            q_terms = terms(query)
            if self._full_text():
                for r in self.store.search_lexical(q_terms, depth, doc_ids):
                    rows.setdefault(r["id"], r)
                    lexical[r["id"]] = r["score"]
            elif q_terms and rows:  # no full-text search on this server: BM25 over the dense candidates
                ids = sorted(rows)
                tokens = self.store.chunk_terms(ids)
                scores = Lexical([tokens[i].split() for i in ids]).scores(" ".join(q_terms))
                lexical = {i: float(s) for i, s in zip(ids, scores) if s > 0}
        headers = {h["doc_id"]: h for h in self.store.headers({r["doc_id"] for r in rows.values()})}
        rows = {i: r for i, r in rows.items() if r["doc_id"] in headers}  # half-written documents are not read
        texts = self._texts(rows, headers)
        # Pass 1, without sentences: which passages can reach the rerank or the answer.
        first = self._mini(rows, lexical, headers, texts, set(), {})
        mode = "hybrid" if cfg.mode == "full" else cfg.mode
        k = max(top_k, self.answering.depth, cfg.rerank_depth if cfg.mode == "full" else 0)
        hits = retrieve(query, first, k, qvec, doc_ids, dataclasses.replace(cfg, mode=mode))
        order = sorted(rows, key=lambda i: (rows[i]["doc_id"], rows[i]["ord"]))
        need = {order[h.row] for h in hits}
        wanted = sorted({f"{rows[i]['doc_id']}#s{j}" for i in need for j in range(rows[i]["s0"], rows[i]["s1"])})
        return self._mini(rows, lexical, headers, texts, need, self.store.sentences(wanted), prefetch)

    def _texts(self, rows: dict[str, dict[str, Any]], headers: dict[str, dict[str, Any]]) -> dict[str, str]:
        pieces: dict[str, list[tuple[int, int, str]]] = {}
        short: set[str] = set()
        for r in rows.values():
            pieces.setdefault(r["doc_id"], []).append((r["start"], r["end"], r["text"]))
            if len(r["text"]) != r["end"] - r["start"]:  # a passage too long for a VARCHAR: read the document
                short.add(r["doc_id"])
        out = {d: _stand_in(p, headers[d]["chars"]) for d, p in pieces.items() if d not in short}
        for d in short:
            out[d] = self.store.text(d) or ""
        return out

    def _mini(self, rows: dict[str, dict[str, Any]], lexical: dict[str, float], headers: dict[str, dict[str, Any]],
              texts: dict[str, str], need: set[str], sentences: dict[str, dict[str, Any]],
              prefetch: list[str] = ()) -> Index:  # type: ignore[assignment]
        """A per-query Index over the candidate rows (doc_id, ord order); sentences only for `need`."""
        order = sorted(rows, key=lambda i: (rows[i]["doc_id"], rows[i]["ord"]))
        chunks: list[ChunkRow] = []
        sents: list[SentenceRow] = []
        svecs: list[Any] = []
        spans: dict[str, DocSpan] = {}
        for doc_id in sorted({rows[i]["doc_id"] for i in order}):
            c0, s0 = len(chunks), len(sents)
            placed: dict[int, int] = {}
            for i in (i for i in order if rows[i]["doc_id"] == doc_id):
                r, lo = rows[i], len(sents)
                if i in need:
                    for j in range(r["s0"], r["s1"]):
                        s = sentences.get(f"{doc_id}#s{j}")
                        if s is None or j in placed:
                            continue
                        placed[j] = len(sents)
                        sents.append(SentenceRow(doc_id, s["start"], s["end"], bool(s["heading"]), len(chunks)))
                        svecs.append(s["vector"])
                    idx = [placed[j] for j in range(r["s0"], r["s1"]) if j in placed]
                    lo, hi = (min(idx), max(idx) + 1) if idx else (lo, lo)
                else:
                    hi = lo
                chunks.append(ChunkRow(doc_id, r["start"], r["end"], lo, hi))
            spans[doc_id] = DocSpan(c0, len(chunks), s0, len(sents))
        dim = int(self.embedder.dim)
        docs = {
            d: Document(d, h["title"], texts.get(d, ""), h["source"], dict(h.get("metadata") or {}))
            for d, h in headers.items() if d in spans
        }
        vectors = np.asarray([rows[i]["vector"] for i in order], np.float32).reshape(-1, dim)
        mini = Index(
            manifest=dict(self.store.manifest or {}), documents=docs, chunks=tuple(chunks), sentences=tuple(sents),
            spans=spans, chunk_vectors=vectors, sentence_vectors=np.asarray(svecs, np.float32).reshape(-1, dim),
            lexical=_GivenScores(np.asarray([lexical.get(i, 0.0) for i in order], np.float32),
                                 self._document_frequency, list(prefetch)),
        )
        mini.__dict__["store"] = _CandidateStore(vectors)  # fills Index.store (a cached_property): always exact
        return mini

    def _full_text(self) -> bool:
        return (self.store.manifest or {}).get("lexical") == "milvus-bm25"

    def _document_frequency(self, terms: list[str]) -> tuple[int, dict[str, int]]:
        """-> (chunks in the store, {term: chunks holding it})."""
        return self.store.count(), self.store.document_frequency(terms)

    def list_documents(self) -> list[dict[str, Any]]:
        return [{"doc_id": h["doc_id"], "title": h["title"], "source": h["source"],
                 "metadata": dict(h.get("metadata") or {}), "characters": h["chars"], "chunks": h["chunks"]}
                for h in self.store.headers()]

    def document(self, doc_id: str) -> Document:
        found = self.store.headers([doc_id])
        text = self.store.text(doc_id) if found else None
        if not found or text is None:
            raise DocumentNotFound(f"no document {doc_id!r}")
        h = found[0]
        return Document(doc_id, h["title"], text, h["source"], dict(h.get("metadata") or {}))

    def original(self, doc_id: str) -> Path:
        """The corpus file a document was read from; uploads to Milvus keep no file (DocumentNotFound)."""
        doc = self.document(doc_id)
        path = Path(self.settings.corpus) / doc.source
        if not path.is_file():
            raise DocumentNotFound(f"the original file of {doc_id!r} is not kept by this store")
        return path

    def skipped(self) -> list[Any]:
        return []  # the Milvus sync reports unreadable files as `qa index` warnings

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
            while self.store.headers([doc_id]):
                n += 1
                doc_id = f"{base}-{n}"
            doc = make_document(data, f"{doc_id}{suffix}", {"title": title} if title else None, doc_id=doc_id)
            same = self.store.headers(where=f'content_hash == "{doc.content_hash}"')
            if same:
                raise DuplicateDocument(f"the same text is already indexed as {same[0]['doc_id']!r}", same[0]["doc_id"])
            index, _ = build([doc], self.embedder, ChunkParams(), None)
            leftovers = self.store.count("chunks", f'doc_id == "{doc.doc_id}"')  # of a write cut short
            self.store.put(doc_rows(index, doc.doc_id, "upload"), replace=bool(leftovers))
            return doc, True

    def delete(self, doc_id: str) -> Document:
        with self._lock:
            doc = self.document(doc_id)
            self.store.remove(doc_id)
            return doc
