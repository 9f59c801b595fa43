"""Indexing and embedding-backend workers, each run in its own process by bench/run.py:

    python -m bench.indexing baseline --scifact DIR [--limit N] --vectors OUT.npy
        the plain baseline: sentence-transformers `encode` of "title. abstract" + faiss.IndexFlatIP
    python -m bench.indexing backend NAME --scifact DIR [--limit N] [--compare TORCH.npy]
        one citeqa Embedder backend over the same texts: throughput, single-query latency, cosine vs torch,
        SciFact nDCG@10 of dense retrieval over abstracts (the same measure as the baseline's)
    python -m bench.indexing citeqa --scifact DIR [--limit N] --work DIR [--embedder NAME]
        citeqa's own `qa index` path (read, clean, chunk, embed passages and sentences, BM25, save), then the
        SciFact nDCG@10 of its full retrieval pipeline over the same documents
    python -m bench.indexing compare --scifact DIR [--limit N] [--modes late,separate,sentences,separate-pysbd]
        the baseline and citeqa in each sentence-vector mode (index/vectorize.py), in one run
Each prints one JSON object on its last stdout line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scifact import doc_text, load_scifact, write_corpus
from bench.stats import percentiles
from bench.system import peak_rss_mb

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def ndcg10(
    doc_vectors: np.ndarray,
    doc_ids: list[str],
    query_vectors: np.ndarray,
    qids: list[str],
    qrels: dict[str, dict[str, int]],
) -> float:
    from qa.metrics import mean, ndcg_at_k

    scores = query_vectors @ doc_vectors.T
    top = np.argsort(-scores, axis=1)[:, :10]
    return mean([ndcg_at_k([doc_ids[j] for j in top[i]], qrels[q], 10) for i, q in enumerate(qids)])


def baseline(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    import faiss
    import torch
    from sentence_transformers import SentenceTransformer

    from index.embed import model_dir

    data = load_scifact(Path(args.scifact), args.limit)
    texts = [doc_text(t, x) for _, t, x in data.docs]
    model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    t1 = time.perf_counter()
    with torch.inference_mode():
        vecs = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(np.ascontiguousarray(vecs, dtype=np.float32))
    t2 = time.perf_counter()
    np.save(args.vectors, vecs.astype(np.float32))
    qids = list(data.queries)
    lat = []
    qvecs = []
    for q in qids[:100]:
        s = time.perf_counter()
        qvecs.append(model.encode([data.queries[q]], normalize_embeddings=True)[0])
        lat.append((time.perf_counter() - s) * 1000)
    qv = np.asarray(model.encode([data.queries[q] for q in qids], normalize_embeddings=True), dtype=np.float32)
    return {
        "name": "baseline (sentence-transformers encode + IndexFlatIP)",
        "docs": len(texts),
        "load_s": t1 - t0,
        "index_s": t2 - t1,
        "docs_per_s": len(texts) / (t2 - t1),
        "query_ms": percentiles(lat),
        "ndcg10": ndcg10(vecs, [d for d, _, _ in data.docs], qv, qids, data.qrels),
        "queries": len(qids),
        "peak_rss_mb": peak_rss_mb(),
    }


def backend(args: argparse.Namespace) -> dict[str, Any]:
    import sys

    t0 = time.perf_counter()
    from index.embed import load_embedder

    emb = load_embedder(args.name)
    t1 = time.perf_counter()
    data = load_scifact(Path(args.scifact), args.limit)
    texts = [doc_text(t, x) for _, t, x in data.docs]
    if args.sample:
        texts = texts[: args.sample]
    t2 = time.perf_counter()
    vecs = emb.embed(texts)
    t3 = time.perf_counter()
    qids = list(data.queries)
    lat = []
    for q in qids[:100]:
        s = time.perf_counter()
        emb.embed_one(data.queries[q])
        lat.append((time.perf_counter() - s) * 1000)
    out: dict[str, Any] = {
        "name": args.name,
        "queries": len(qids),
        "docs": len(texts),
        "load_s": t1 - t0,
        "docs_per_s": len(texts) / (t3 - t2),
        "query_ms": percentiles(lat),
        "torch_imported": "torch" in sys.modules,
        "peak_rss_mb": peak_rss_mb(),
    }
    if len(texts) == len(data.docs):
        qv = emb.embed([data.queries[q] for q in qids])
        out["ndcg10"] = ndcg10(vecs, [d for d, _, _ in data.docs], qv, qids, data.qrels)
        if args.vectors:  # the question vectors, for the scale bench
            np.save(args.vectors, qv)
    if args.compare:
        ref = np.load(args.compare)[: len(texts)]
        cos = np.sum(ref * vecs, axis=1)
        out["cosine_vs_torch"] = {
            "mean": float(cos.mean()),
            "min": float(cos.min()),
            "p1": float(np.percentile(cos, 1)),
        }
    return out


def citeqa(args: argparse.Namespace) -> dict[str, Any]:
    from index.embed import load_embedder
    from qa.engine import Settings, sync

    data = load_scifact(Path(args.scifact), args.limit)
    work = Path(args.work)
    corpus = work / "corpus"
    write_corpus(data, corpus)
    t0 = time.perf_counter()
    embedder = load_embedder(args.embedder)
    t1 = time.perf_counter()
    calls = {"texts": 0}
    embed = embedder.embed

    def counted(texts: Any, *a: Any, **kw: Any) -> Any:
        calls["texts"] += len(texts)
        return embed(texts, *a, **kw)

    embedder.embed = counted  # type: ignore[method-assign]
    embed_tokens = getattr(embedder, "embed_tokens", None)
    if embed_tokens is not None:  # late chunking: one model run per passage gives its sentences' vectors too

        def counted_tokens(texts: Any) -> Any:
            calls["texts"] += len(texts)
            return embed_tokens(texts)

        embedder.embed_tokens = counted_tokens  # type: ignore[attr-defined]
    settings = Settings(corpus=corpus, index=work / ".citeqa")
    report = sync(settings, embedder, None, force=True)
    t2 = time.perf_counter()
    store: Any = report.store
    con = store.rows.con()
    n_sent = int(con.execute("SELECT count(*) FROM sentences").fetchone()[0])
    if args.vectors:
        cv = [np.frombuffer(v, np.float32) for (v,) in con.execute("SELECT vec FROM chunks ORDER BY id")]
        sv = [np.frombuffer(v, np.float16).astype(np.float32) for (v,) in con.execute("SELECT vec FROM sentences")]
        np.save(args.vectors, np.vstack(cv + sv))
    texts = calls["texts"]
    from index.sentences import SPLITTER
    from index.vectorize import MODE

    return {
        "name": f"citeqa qa index ({embedder.backend})",
        "backend": embedder.backend,
        "docs": report.documents,
        "chunks": report.chunks,
        "sentences": n_sent,
        "texts_embedded": texts,
        "splitter": SPLITTER,
        "sentence_vectors": MODE,
        "load_s": t1 - t0,
        "index_s": t2 - t1,
        "docs_per_s": report.documents / (t2 - t1),
        "chunks_per_s": report.chunks / (t2 - t1),
        "texts_per_s": texts / (t2 - t1),
        "peak_rss_mb": peak_rss_mb(),
        "index_dir": str(settings.index),
        "ndcg10": full_pipeline_ndcg10(data, store, embedder),
        "queries": len(data.queries),
    }


def full_pipeline_ndcg10(data: Any, store: Any, embedder: Any) -> float:
    """SciFact nDCG@10 of citeqa's full retrieval pipeline (hybrid, sentence rerank) over the indexed documents."""
    from index.documents import Document
    from qa.beir import Dataset, evaluate, run_queries
    from qa.retrieve import RetrievalConfig

    docs = [Document(d, t, x, f"{d}.txt") for d, t, x in data.docs]
    ds = Dataset(Path("scifact"), docs, data.queries, data.qrels, "")
    return float(evaluate(run_queries(ds, store, embedder, RetrievalConfig()).run, data.qrels)["ndcg_at_10"])


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """The baseline, then citeqa with each --modes setting of CITEQA_SENTENCE_VECTORS, one process each."""
    import tempfile

    from bench.workers import run_worker

    sf = ["--scifact", args.scifact, *(["--limit", str(args.limit)] if args.limit else [])]
    work = Path(args.work or tempfile.mkdtemp(prefix="citeqa-idx-"))
    work.mkdir(parents=True, exist_ok=True)
    base = run_worker("indexing", "baseline", *sf, "--vectors", str(work / "torch.npy"))
    rows = []
    for mode in (args.modes or "late").split(","):
        splitter = "pysbd" if mode == "separate-pysbd" else "rules"
        env = {"CITEQA_SENTENCE_VECTORS": mode.replace("-pysbd", ""), "CITEQA_SPLITTER": splitter}
        row = run_worker("indexing", "citeqa", *sf, "--work", str(work / mode), env=env)
        row["ratio_docs_per_s"] = row["docs_per_s"] / base["docs_per_s"]
        print(
            json.dumps(
                {k: row[k] for k in ("sentence_vectors", "splitter", "docs_per_s", "ratio_docs_per_s", "ndcg10")}
            ),
            file=__import__("sys").stderr,
            flush=True,
        )
        rows.append(row)
    return {"baseline": base, "citeqa": rows}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["baseline", "backend", "citeqa", "compare"])
    p.add_argument("name", nargs="?")
    p.add_argument("--scifact", required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--sample", type=int, help="backend: embed only the first N abstracts (no nDCG)")
    p.add_argument("--vectors")
    p.add_argument("--compare")
    p.add_argument("--work")
    p.add_argument("--embedder")
    p.add_argument("--modes", help="compare: comma-separated CITEQA_SENTENCE_VECTORS settings")
    args = p.parse_args()
    result = {"baseline": baseline, "backend": backend, "citeqa": citeqa, "compare": compare}[args.what](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
