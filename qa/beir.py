"""A dataset in BEIR layout -> an index (cached by corpus hash) -> a run -> nDCG@10, Recall@100, MRR@10.

Layout read (https://github.com/beir-cellar/beir):
    DIR/corpus.jsonl[.gz]   {"_id": "4983", "title": "...", "text": "..."} per line
    DIR/queries.jsonl       {"_id": "1", "text": "..."} per line
    DIR/qrels/test.tsv      query-id <TAB> corpus-id <TAB> score, with a header row
The index is built once per (corpus bytes, embedder, chunking) and kept under the cache folder, so a second
run only embeds the queries. Chunk hits map to documents by their best chunk (the document's rank is that
of its first chunk in the ranked list).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.build import chunking_manifest, prepare
from index.chunk import ChunkParams
from index.documents import Document
from index.embed import Embedder
from index.errors import CiteqaError
from index.settings import Settings
from index.store import Store
from qa.metrics import mean, mrr_at_k, ndcg_at_k, recall_at_k
from qa.retrieve import RetrievalConfig, retrieve


def default_cache() -> Path:
    """<CITEQA_CACHE>/beir, e.g. ~/.cache/citeqa/beir."""
    return Settings.from_env().cache / "beir"


@dataclass(frozen=True)
class Dataset:
    folder: Path
    documents: list[Document]
    queries: dict[str, str]  # query id -> text, only queries with judgements, in file order
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}
    corpus_sha256: str


def _corpus_path(folder: Path) -> Path:
    for name in ("corpus.jsonl", "corpus.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    raise CiteqaError(f"no corpus.jsonl or corpus.jsonl.gz in {folder} (expected the BEIR layout)")


def _read_lines(path: Path) -> list[str]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            return [line for line in fh if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise CiteqaError(f"cannot read {path}: {exc}") from exc


def _json(path: Path, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise CiteqaError(f"{path} has a line that is not JSON: {line[:80]!r}") from exc
    if not isinstance(row, dict) or "_id" not in row:
        raise CiteqaError(f"{path} has a row without an _id: {line[:80]!r}")
    return row


def load_dataset(folder: str | Path, split: str = "test") -> Dataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise CiteqaError(f"BEIR folder not found: {folder}")
    cpath, qpath, rpath = _corpus_path(folder), folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for p in (qpath, rpath):
        if not p.is_file():
            raise CiteqaError(f"missing {p} (expected the BEIR layout)")
    digest = hashlib.sha256(cpath.read_bytes()).hexdigest()
    docs = []
    for line in _read_lines(cpath):
        r = _json(cpath, line)
        doc_id = str(r["_id"])
        docs.append(Document(doc_id, str(r.get("title") or ""), str(r.get("text") or ""), doc_id, {}))
    qrels: dict[str, dict[str, int]] = {}
    for i, line in enumerate(_read_lines(rpath)):
        parts = line.rstrip("\n").split("\t")
        if i == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header row
        if len(parts) != 3:
            raise CiteqaError(f"{rpath} line {i + 1}: expected query-id, corpus-id, score separated by tabs")
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = {}
    for line in _read_lines(qpath):
        r = _json(qpath, line)
        if str(r["_id"]) in qrels:
            queries[str(r["_id"])] = str(r.get("text") or "")
    if not queries:
        raise CiteqaError(f"no query in {qpath} has a judgement in {rpath}")
    return Dataset(folder, docs, queries, qrels, digest)


def cache_key(ds: Dataset, embedder: Embedder, params: ChunkParams) -> str:
    """Corpus bytes + embedder identity + chunking: any change means another index."""
    ident = json.dumps([ds.corpus_sha256, embedder.identity(), chunking_manifest(params)], sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:20]


def cached_index(
    ds: Dataset,
    embedder: Embedder,
    cache: str | Path | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> tuple[Store, bool]:
    """(store, built now). Opens `cache/<key>/` when complete, else builds it there (batches of 256 documents)."""
    from index.local_store import LocalStore

    params = ChunkParams()
    root = Path(cache or default_cache()) / f"{ds.folder.name}-{cache_key(ds, embedder, params)}"
    done_flag = root / "COMPLETE"
    if done_flag.is_file():
        return LocalStore.open(root, embedder.identity(), chunking_manifest(params)), False
    if root.is_dir() and not (root / "citeqa.db").is_file():
        import shutil

        shutil.rmtree(root)  # a cache folder of an older format: rebuilt
    store = LocalStore.open(root, embedder.identity(), chunking_manifest(params), create=True)
    with store.writing():
        have = set(store.inventory())
        todo = [d for d in ds.documents if d.doc_id not in have]
        total, done = len(todo), 0
        for i in range(0, len(todo), 256):
            batch = todo[i : i + 256]
            store.put(prepare(batch, embedder, params, "corpus"))
            done += len(batch)
            if progress:
                progress(done, total)
        store.merge()
    done_flag.write_text("ok\n")
    return store, True


def rank_documents(doc_ids: list[str], depth: int) -> list[str]:
    """Document ids of the chunks, best first -> the best `depth` distinct documents, each at its best chunk."""
    out: dict[str, None] = {}
    for d in doc_ids:
        out.setdefault(d, None)
        if len(out) >= depth:
            break
    return list(out)


@dataclass(frozen=True)
class RunResult:
    run: dict[str, dict[str, float]]  # query id -> {doc id: score}; score = depth - rank, so no ties
    ms_per_query: float  # question embedding (batched) + retrieval, averaged


def embed_queries(ds: Dataset, embedder: Embedder, query_ids: list[str]) -> tuple[dict[str, Any], float]:
    """({query id: unit vector}, ms per query). Batched: one run's vectors serve every mode of an ablation."""
    embedder.embed_one("warm-up")  # the first call pays one-off start-up costs
    t0 = time.perf_counter()
    vecs = embedder.embed([ds.queries[q] for q in query_ids])
    ms = 1000 * (time.perf_counter() - t0) / max(1, len(query_ids))
    return dict(zip(query_ids, vecs)), ms


def run_queries(
    ds: Dataset,
    store: Store,
    embedder: Embedder,
    config: RetrievalConfig,
    depth: int = 100,
    query_ids: list[str] | None = None,
    qvecs: tuple[dict[str, Any], float] | None = None,
) -> RunResult:
    """Every query through `retrieve`; `qvecs` = embed_queries(...) to reuse question vectors across runs."""
    qids = query_ids if query_ids is not None else list(ds.queries)
    embed_ms = 0.0
    vecs: dict[str, Any] = {}
    if config.mode != "lexical":
        vecs, embed_ms = qvecs if qvecs is not None else embed_queries(ds, embedder, qids)
    # Chunks per document vary; asking for 3x the documents' depth in chunks leaves `depth` distinct documents.
    counts = store.counts()
    chunk_depth = depth * max(1, round(3 * counts["chunks"] / max(1, counts["documents"])))
    run: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    for qid in qids:
        hits = retrieve(ds.queries[qid], store, chunk_depth, qvec=vecs.get(qid), config=config)
        docs = rank_documents([h.doc_id for h in hits], depth)
        run[qid] = {d: float(depth - i) for i, d in enumerate(docs)}
    elapsed = time.perf_counter() - t0
    return RunResult(run, embed_ms + 1000 * elapsed / max(1, len(qids)))


def evaluate(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the queries of `run` (a query with no documents scores 0)."""
    per: dict[str, list[float]] = {"ndcg_at_10": [], "recall_at_100": [], "mrr_at_10": []}
    for qid, docs in run.items():
        ranked = sorted(docs, key=lambda d: -docs[d])
        rel = {d: float(g) for d, g in qrels.get(qid, {}).items()}
        per["ndcg_at_10"].append(ndcg_at_k(ranked, rel, 10))
        per["recall_at_100"].append(recall_at_k(ranked, rel, 100))
        per["mrr_at_10"].append(mrr_at_k(ranked, rel, 10))
    return {k: mean(v) for k, v in per.items()}


def split_ids(ids: list[str]) -> tuple[list[str], list[str]]:
    """(dev, held-out): odd numeric ids tune, even ids are held out. Non-numeric ids split by a stable hash."""

    def odd(q: str) -> bool:
        return int(q) % 2 == 1 if q.isdigit() else int(hashlib.sha256(q.encode()).hexdigest(), 16) % 2 == 1

    return [q for q in ids if odd(q)], [q for q in ids if not odd(q)]


__all__ = [
    "Dataset",
    "load_dataset",
    "cached_index",
    "embed_queries",
    "run_queries",
    "evaluate",
    "rank_documents",
    "split_ids",
    "RunResult",
    "default_cache",
]
