"""Scale worker: real chunk and sentence embeddings tiled to N vectors with small noise, searched by real
questions, with every vector-store type citeqa can choose.

    python -m bench.scale --vectors REAL.npy --queries Q.npy --sizes 100000,1000000 [--types flat,hnsw,ivf]

Copy i of vector j is normalise(v_j + noise), noise ~ N(0, 0.0128^2) per dimension (cosine ~0.97 to v_j), so
near neighbours are many and close, as in a large corpus of similar passages. For each size and type:
build seconds, structure memory (the serialised faiss index; exact search holds the float32 rows), query
latency (one query at a time, k=10, through citeqa's VectorStore.search incl. exact re-scoring) and
recall@10 against exact search. Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from bench.stats import percentiles
from bench.system import proc_status_mb

NOISE = 0.0128


def tiled(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        block = base[np.arange(lo, hi) % len(base)] + rng.normal(0, NOISE, (hi - lo, base.shape[1])).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[lo:hi] = block
    return out


def structure_mb(store: Any) -> float:
    import faiss

    from index.vectors import AnnStore

    if isinstance(store, AnnStore):
        ids = store.row_base.nbytes + store.base_row.nbytes
        return (faiss.serialize_index(store.base).nbytes + ids) / 2**20
    return float(store.vectors.nbytes) / 2**20


def measure(x: np.ndarray, queries: np.ndarray, truth: np.ndarray, kind: str) -> dict[str, Any]:
    from index.vectors import make_store, spec_for

    rss0 = proc_status_mb(_pid())
    t0 = time.perf_counter()
    store = make_store(x, kind=kind)
    build = time.perf_counter() - t0
    rss1 = proc_status_mb(_pid())
    for q in queries[:10]:  # warm-up
        store.search(q, 10)
    lat, recall = [], []
    if kind == "flat":  # exact by definition; a slow scan at 1M, so fewer timed queries
        queries, truth = queries[:50], truth[:50]
    for q, t in zip(queries, truth):
        s = time.perf_counter()
        _, rows = store.search(q, 10)
        lat.append((time.perf_counter() - s) * 1000)
        recall.append(len(set(rows.tolist()) & set(t.tolist())) / 10)
    out = {
        "type": kind,
        "spec": spec_for(len(x), x.shape[1], kind),
        "build_s": build,
        "structure_mb": structure_mb(store),
        "rss_growth_mb": rss1 - rss0,
        "query_ms": percentiles(lat),
        "recall10": float(np.mean(recall)),
    }
    del store
    return out


def _pid() -> int:
    import os

    return os.getpid()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--vectors", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--types", default="flat,hnsw,ivf")
    p.add_argument("--hnsw-max", type=int, default=500_000, help="skip HNSW above this size (its build is slow)")
    args = p.parse_args()
    import faiss

    base = np.load(args.vectors).astype(np.float32)
    queries = np.ascontiguousarray(np.load(args.queries).astype(np.float32))
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        x = tiled(base, n)
        t0 = time.perf_counter()
        exact = faiss.IndexFlatIP(x.shape[1])
        exact.add(x)
        _, truth = exact.search(queries, 10)
        truth_s = time.perf_counter() - t0
        del exact
        rows = []
        for kind in args.types.split(","):
            if kind == "hnsw" and n > args.hnsw_max:
                continue
            rows.append(measure(x, queries, truth, kind))
        results.append(
            {
                "n": n,
                "base_vectors": len(base),
                "float32_rows_mb": x.nbytes / 2**20,
                "exact_truth_s": truth_s,
                "types": rows,
            }
        )
        del x
    print(json.dumps({"sizes": results, "queries": len(queries), "noise": NOISE}))


if __name__ == "__main__":
    main()
