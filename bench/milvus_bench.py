"""FAISS next to milvus-lite at 100k chunks, in one run: insert rate and query latency.

    .venv/bin/python -m bench.milvus_bench [--chunks 100000] [--queries 50] [--ask-chunks 5000] [--json OUT]

Vectors: the default corpus's real chunk vectors (all-MiniLM-L6-v2), tiled to --chunks rows with Gaussian
noise (sigma 0.05 per coordinate, rows re-normalised), each copy keeping its chunk's text and BM25 terms.
Queries: the gold set's questions, embedded with the same model.

Measured, each side on the same rows:
    insert   FAISS: IndexFlatIP.add + the auto-sized store citeqa builds (make_store) + the bm25s index;
             Milvus: chunk rows (vector, text, terms -> BM25 sparse by Milvus) in batches of 1000
    query    dense top-100, BM25 top-100, dense top-100 restricted to 10 documents
    ask      (at --ask-chunks, whole documents through MilvusStore.put with their sentences) the full
             MilvusEngine.ask against Engine.ask on the same corpus copy, question embedding included
Prints a markdown table and one JSON object (the last line).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"p50": round(statistics.median(s), 2), "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2)}


def tiled(base: np.ndarray, n: int, rng: np.random.Generator, sigma: float = 0.05) -> np.ndarray:
    reps = -(-n // len(base))
    v = np.tile(base, (reps, 1))[:n] + rng.normal(0, sigma, (n, base.shape[1])).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def timed(fn: Any, *args: Any, repeat: int = 1) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = None
    for _ in range(repeat):
        out = fn(*args)
    return (time.perf_counter() - t0) * 1000 / repeat, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chunks", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--ask-chunks", type=int, default=5_000, help="corpus size for the end-to-end ask (0: skip)")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()

    from index.build import build
    from index.chunk import ChunkParams
    from index.documents import read_corpus
    from index.embed import load_embedder
    from index.lexical import Lexical, terms
    from index.milvus_store import MilvusStore, StoreSpec
    from index.vectors import FaissStore, make_store
    from qa.evaluate import load_gold
    from qa.milvus_engine import expected_manifest

    rng = np.random.default_rng(7)
    embedder = load_embedder()
    docs, _ = read_corpus(ROOT / "corpus")
    index, _ = build(docs, embedder, ChunkParams())
    gold = [q.question for q in load_gold(ROOT / "tests/gold/questions.jsonl")][: args.queries]
    qvecs = embedder.embed(gold)
    n, base = args.chunks, index.chunk_vectors
    vectors = tiled(base, n, rng)
    src = np.arange(n) % len(index.chunks)
    tokens = [index.lexical.tokens[i] for i in src]
    doc_of = [f"{index.chunks[i].doc_id}~{k // len(index.chunks)}" for k, i in enumerate(src)]
    filter_docs = sorted(set(doc_of))[:10]
    result: dict[str, Any] = {"chunks": n, "queries": len(gold), "cpu": os.cpu_count(),
                              "machine": platform.processor() or platform.machine()}

    # -- FAISS: the in-memory side -----------------------------------------------------------------------
    f: dict[str, Any] = {}
    f["flat_add_ms"], flat = timed(FaissStore, vectors)
    f["store_build_ms"], store = timed(make_store, vectors)
    f["store_kind"] = store.describe().get("index")
    f["bm25_build_ms"], lex = timed(Lexical, tokens)
    f["insert_rows_per_s"] = round(n / ((f["flat_add_ms"] + f["bm25_build_ms"]) / 1000))
    rows_of_filter = np.array([i for i, d in enumerate(doc_of) if d in set(filter_docs)], np.int64)
    f["dense_ms"] = pct([timed(flat.search, q, 100)[0] for q in qvecs])
    f["dense_auto_ms"] = pct([timed(store.search, q, 100)[0] for q in qvecs])
    f["bm25_ms"] = pct([timed(lex.scores, g)[0] for g in gold])
    f["dense_filtered_ms"] = pct([timed(flat.search, q, 100, rows_of_filter)[0] for q in qvecs])
    result["faiss"] = f

    # -- milvus-lite: the same rows ----------------------------------------------------------------------
    work = Path(tempfile.mkdtemp(prefix="citeqa-milvus-bench-"))
    try:
        m: dict[str, Any] = {}
        store_m = MilvusStore(StoreSpec("milvus", str(work / "bench.db")), prefix="bench")
        store_m.connect(expected_manifest(embedder), create=True)
        texts = [index.chunk_text(i) for i in range(len(index.chunks))]
        rows = [{"id": f"{doc_of[k]}#c{k}", "doc_id": doc_of[k], "ord": k, "start": 0, "end": len(texts[i]),
                 "s0": 0, "s1": 0, "title": index.documents[index.chunks[i].doc_id].title, "text": texts[i],
                 "terms": " ".join(tokens[k]), "vector": vectors[k].tolist()} for k, i in enumerate(src)]
        t0 = time.perf_counter()
        store_m._insert("chunks", rows)
        store_m.flush()
        m["insert_ms"] = round((time.perf_counter() - t0) * 1000)
        m["insert_rows_per_s"] = round(n / (m["insert_ms"] / 1000))
        assert store_m.count() == n
        search = store_m.search_dense
        search(qvecs[0], 100, None)  # first search builds the segment indexes
        m["dense_ms"] = pct([timed(search, q, 100, None)[0] for q in qvecs])
        m["bm25_ms"] = pct([timed(store_m.search_lexical, terms(g), 100, None)[0] for g in gold])
        m["dense_filtered_ms"] = pct([timed(search, q, 100, filter_docs)[0] for q in qvecs])
        overlap = [len({r["id"] for r in search(q, 10, None)} & {f"{doc_of[k]}#c{k}" for k in flat.search(q, 10)[1]})
                   for q in qvecs[:10]]
        m["dense_top10_agreement_with_faiss"] = sum(overlap) / (10 * len(overlap))
        result["milvus_lite"] = m
        store_m.drop()
        if args.ask_chunks:
            result["ask"] = ask_bench(index, args.ask_chunks, gold, embedder, work, rng)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(result))
    print(json.dumps(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


def ask_bench(index: Any, n_chunks: int, gold: list[str], embedder: Any, work: Path,
              rng: np.random.Generator) -> dict[str, Any]:
    """Copies of the default corpus's built Index (each document under a new id, vectors with noise) until
    n_chunks, written to Milvus through MilvusStore.put and held in memory as an Index for FAISS; both engines
    then answer the same questions. Chunking and embedding are not measured here (they are the same work for
    both stores)."""
    from index.model import ChunkRow, DocSpan, Index, SentenceRow

    from index.lexical import Lexical
    from index.milvus_store import MilvusStore, parse_store
    from qa.engine import Engine, Settings
    from qa.milvus_engine import MilvusEngine, doc_rows, expected_manifest

    copies = max(1, -(-n_chunks // len(index.chunks)))
    settings = Settings(corpus=work / "no-corpus", index=work / "faiss", store=f"milvus://{work / 'ask.db'}")
    store = MilvusStore(parse_store(settings.store))
    store.connect(expected_manifest(embedder), create=True)
    docs: dict[str, Any] = {}
    chunks: list[ChunkRow] = []
    sents: list[SentenceRow] = []
    spans: dict[str, DocSpan] = {}
    tokens: list[list[str]] = []
    cv: list[np.ndarray] = []
    sv: list[np.ndarray] = []
    put_s = 0.0
    for c in range(copies):
        for doc_id, span in index.spans.items():
            new_id = f"{doc_id}-{c}"
            doc = index.documents[doc_id]
            cvec = tiled(index.chunk_vectors[span.c0 : span.c1], span.c1 - span.c0, rng)
            svec = tiled(index.sentence_vectors[span.s0 : span.s1], span.s1 - span.s0, rng)
            rows = dataclasses.replace(doc_rows(index, doc_id, "corpus"), doc_id=new_id, chunk_vectors=cvec,
                                       sentence_vectors=svec)
            t0 = time.perf_counter()
            store.put(rows, replace=False)
            put_s += time.perf_counter() - t0
            c0, s0 = len(chunks), len(sents)
            docs[new_id] = dataclasses.replace(doc, doc_id=new_id)
            chunks += [ChunkRow(new_id, r.start, r.end, r.s0 - span.s0 + s0, r.s1 - span.s0 + s0)
                       for r in index.chunks[span.c0 : span.c1]]
            sents += [SentenceRow(new_id, r.start, r.end, r.heading, r.chunk - span.c0 + c0)
                      for r in index.sentences[span.s0 : span.s1]]
            spans[new_id] = DocSpan(c0, len(chunks), s0, len(sents))
            tokens += index.lexical.tokens[span.c0 : span.c1]
            cv.append(cvec)
            sv.append(svec)
    t0 = time.perf_counter()
    store.flush()
    put_s += time.perf_counter() - t0
    t0 = time.perf_counter()
    big = Index(manifest=index.manifest, documents=docs, chunks=tuple(chunks), sentences=tuple(sents), spans=spans,
                chunk_vectors=np.concatenate(cv), sentence_vectors=np.concatenate(sv), lexical=Lexical(tokens))
    big.store.count()
    faiss_ms = (time.perf_counter() - t0) * 1000
    faiss = Engine(settings, embedder, big)
    milvus = MilvusEngine.open(settings, embedder=embedder)
    rows_written = len(chunks) + len(sents) + len(docs) + store.count("terms")
    res: dict[str, Any] = {"chunks": len(chunks), "sentences": len(sents), "documents": len(docs),
                           "milvus_put_s": round(put_s, 1), "milvus_put_rows_per_s": round(rows_written / put_s),
                           "faiss_index_ms": round(faiss_ms)}
    for name, eng in (("faiss", faiss), ("milvus_lite", milvus)):
        eng.ask(gold[0])
        res[f"{name}_ask_ms"] = pct([timed(eng.ask, g)[0] for g in gold])
    same = 0
    for g in gold:
        a, b = faiss.ask(g), milvus.ask(g)
        # copies of one passage tie exactly in BM25 and either engine may rank any copy first: compare the
        # passage (document before the copy suffix, offsets), not the copy
        same += bool(a.passages and b.passages) and (a.passages[0].doc_id.rsplit("-", 1)[0], a.passages[0].start) == (
            b.passages[0].doc_id.rsplit("-", 1)[0], b.passages[0].start)
    res["same_top_passage"] = f"{same}/{len(gold)}"
    return res


def table(r: dict[str, Any]) -> str:
    f, m = r["faiss"], r["milvus_lite"]
    lines = [
        f"{r['chunks']:,} chunks x 384 dims, {r['queries']} queries, {r['cpu']} CPU cores",
        "",
        "| | FAISS (in memory) | milvus-lite 3.2 (FLAT + BM25) |",
        "|---|---|---|",
        f"| insert | {f['insert_rows_per_s']:,} rows/s (flat add {f['flat_add_ms']:.0f} ms + bm25s "
        f"{f['bm25_build_ms']:.0f} ms; {f['store_kind']} store {f['store_build_ms']:.0f} ms) "
        f"| {m['insert_rows_per_s']:,} rows/s ({m['insert_ms'] / 1000:.1f} s) |",
        f"| dense top-100, p50 / p95 | {f['dense_ms']['p50']} / {f['dense_ms']['p95']} ms (flat); "
        f"{f['dense_auto_ms']['p50']} / {f['dense_auto_ms']['p95']} ms ({f['store_kind']}) "
        f"| {m['dense_ms']['p50']} / {m['dense_ms']['p95']} ms |",
        f"| BM25 top-100, p50 / p95 | {f['bm25_ms']['p50']} / {f['bm25_ms']['p95']} ms "
        f"| {m['bm25_ms']['p50']} / {m['bm25_ms']['p95']} ms |",
        f"| dense, 10-document filter, p50 / p95 | {f['dense_filtered_ms']['p50']} / {f['dense_filtered_ms']['p95']} ms "
        f"| {m['dense_filtered_ms']['p50']} / {m['dense_filtered_ms']['p95']} ms |",
    ]
    if "ask" in r:
        a = r["ask"]
        lines += [
            f"| whole `ask` at {a['chunks']:,} chunks ({a['documents']} documents), p50 / p95 "
            f"| {a['faiss_ask_ms']['p50']} / {a['faiss_ask_ms']['p95']} ms "
            f"| {a['milvus_lite_ask_ms']['p50']} / {a['milvus_lite_ask_ms']['p95']} ms |",
            f"| load that corpus ({a['chunks'] + a['sentences'] + a['documents']:,} rows, vectors given) "
            f"| {a['faiss_index_ms'] / 1000:.1f} s (store + bm25s) "
            f"| {a['milvus_put_s']:.1f} s ({a['milvus_put_rows_per_s']:,} rows/s: chunks, sentences, terms, documents) |",
            f"| same top passage as FAISS | | {a['same_top_passage']} |",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
