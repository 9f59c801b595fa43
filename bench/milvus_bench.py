"""FAISS, milvus-lite and a real Milvus server on SciFact, in one run: ask latency, nDCG@10, bulk write rate.

    .venv/bin/python -m bench.milvus_bench [--scifact DIR] [--docs 1000 | --full] [--asks 50] [--out docs/DEPLOY.md]
        [--work DIR] [--stores faiss,lite,server[,lite-hybrid]]

Corpus: SciFact's abstracts (the first --docs, or all 5,183 with --full), prepared once (index.build.prepare,
the real default embedder) and kept in --work in shards (bench/prepared_cache.py), reused across stores and
runs; every store then receives the same prepared rows, so the write rates compare storage, not embedding.
`lite` is milvus-lite as citeqa creates it by default; `lite-hybrid` forces its BM25 function and hybrid
search (CITEQA_MILVUS_LEXICAL=milvus-bm25). The real server is Milvus 2.3.5 from `milvus-server`
(tests/milvus_server.py), on free loopback ports, started and stopped here.

Measured per store:
    write    Store.inventory, Store.put in batches of qa.sync.BATCH documents under the write lock, then Store.merge,
             as `qa index` does once the documents are embedded (embedding is the same work for every store and is
             excluded); "puts only" leaves out the merge (a server: the seal and HNSW build of the passages)
    ask      Engine.ask over each store in process (question embedding included), --asks SciFact queries,
             after one warm-up ask; p50 and p95
    nDCG@10  SciFact test queries whose judged documents are all in the corpus, retrieval as `qa beir` runs it
Writes a section between the markers in --out and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.prepared_cache import DEFAULT_WORK, prepared_documents
from bench.report import replace_section
from bench.scifact import DEFAULT_SCIFACT

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- milvus-bench:begin -->", "<!-- milvus-bench:end -->"


def pct(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"p50": round(statistics.median(s), 1), "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scifact", default=str(DEFAULT_SCIFACT))
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--full", action="store_true", help="all 5,183 abstracts")
    p.add_argument("--asks", type=int, default=50)
    p.add_argument("--work", default=str(DEFAULT_WORK), help="where the prepared (embedded) documents are kept")
    p.add_argument("--stores", default="faiss,lite,server", help="faiss, lite, lite-hybrid, server (in this order)")
    p.add_argument("--out", default=str(ROOT / "docs" / "DEPLOY.md"))
    args = p.parse_args(argv)

    from index.build import chunking_manifest
    from index.chunk import ChunkParams
    from index.embed import load_embedder
    from index.local_store import LocalStore
    from index.milvus_store import MilvusStore, parse_store
    from qa.beir import load_dataset
    from qa.milvus_engine import expected_manifest

    embedder = load_embedder()
    ds = load_dataset(args.scifact)
    docs = ds.documents if args.full else ds.documents[: args.docs]
    prepared = prepared_documents(docs, embedder, Path(args.work))
    ids = {d.doc_id for d in docs}
    qids = [q for q in ds.queries if ds.qrels.get(q) and set(ds.qrels[q]) <= ids]
    work = Path(tempfile.mkdtemp(prefix="citeqa-milvus-bench-"))
    result: dict[str, Any] = {
        "documents": len(docs),
        "chunks": sum(len(x.chunks) for x in prepared),
        "sentences": sum(len(x.sentences) for x in prepared),
        "queries": len(qids),
        "asks": args.asks,
    }
    stores = [x.strip() for x in args.stores.split(",") if x.strip()]
    result["load_before"] = [round(x, 1) for x in os.getloadavg()]
    try:

        def milvus(uri: str, lexical: str = "") -> Any:
            os.environ["CITEQA_MILVUS_LEXICAL"] = lexical
            try:
                store = MilvusStore(parse_store(uri), prefix="bench")
                store.connect(expected_manifest(embedder), create=True)
            finally:
                os.environ.pop("CITEQA_MILVUS_LEXICAL", None)
            return store

        for name in stores:
            if name not in STORE_KEYS:
                raise SystemExit(f"unknown store {name!r}: use {', '.join(STORE_KEYS)}")
            if name == "faiss":
                local = LocalStore.open(
                    work / "local", embedder.identity(), chunking_manifest(ChunkParams()), create=True
                )
                result["faiss"] = run_store(local, prepared, ds, qids, embedder, work, args.asks)
            elif name in ("lite", "lite-hybrid"):
                lexical = "milvus-bm25" if name == "lite-hybrid" else ""
                store = milvus(f"milvus://{work / (name + '.db')}", lexical)
                result["milvus_" + name.replace("-", "_")] = run_store(
                    store, prepared, ds, qids, embedder, work, args.asks
                )
            else:
                from tests.milvus_server import start

                server = start(work / "server")
                try:
                    store = milvus(server.uri)
                    result["milvus_server"] = run_store(store, prepared, ds, qids, embedder, work, args.asks)
                finally:
                    server.stop()
            print(f"{name}: {json.dumps(result[STORE_KEYS[name]])}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_after"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(result))
    if args.out and "faiss" in result:
        shown = list(argv if argv is not None else sys.argv[1:])
        if "--out" in shown:  # where the table went is not part of the command that measured it
            del shown[shown.index("--out") : shown.index("--out") + 2]
        write(Path(args.out), result, shown)
    return 0


class Timed:
    """Wraps a MilvusClient: wall time per method, to see where an ask spends it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ms: dict[str, list[float]] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in ("search", "hybrid_search", "get", "query"):
            return attr

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attr(*a, **kw)
            finally:
                self.ms.setdefault(name, []).append((time.perf_counter() - t0) * 1000)

        return timed


def run_store(
    store: Any, prepared: list[Any], ds: Any, qids: list[str], embedder: Any, work: Path, asks: int
) -> dict[str, Any]:
    """Write the prepared documents as `qa index` does (its inventory, then batches of 32, one commit each), then
    ask and rank."""
    from qa.beir import run_queries
    from qa.engine import Engine, Settings
    from qa.retrieve import RetrievalConfig
    from qa.sync import BATCH

    t0 = time.perf_counter()
    store.exclusions(), store.inventory()  # as `qa index` starts: the store then knows which ids are new
    for lo in range(0, len(prepared), BATCH):
        with store.writing():
            store.put(prepared[lo : lo + BATCH])
    put_s = time.perf_counter() - t0
    store.merge()
    write_s = time.perf_counter() - t0
    out: dict[str, Any] = {
        "put_s": round(put_s, 2),
        "put_docs_per_s": round(len(prepared) / put_s),
        "write_s": round(write_s, 2),
        "docs_per_s": round(len(prepared) / write_s),
        "describe": {k: v for k, v in store.describe().items() if k in ("server", "lexical", "index")},
    }
    engine = Engine(Settings(corpus=work / "none", index=work / "none"), embedder, store)
    if store.kind == "milvus":
        store.client = timer = Timed(store.client)
    out["ask_ms"] = ask_times(engine, ds, qids, asks)
    if store.kind == "milvus":
        out["call_ms"] = {k: pct(v) for k, v in timer.ms.items()}
        store.client = timer.inner
    out["ndcg_at_10"] = round(
        ndcg(ds, qids, run_queries(ds, store, embedder, RetrievalConfig(), query_ids=qids).run), 4
    )
    if store.kind == "milvus":
        store.drop()
    return out


def ask_times(engine: Any, ds: Any, qids: list[str], n: int) -> dict[str, float]:
    engine.ask(ds.queries[qids[0]])
    times = []
    for q in qids[:n]:
        t0 = time.perf_counter()
        engine.ask(ds.queries[q])
        times.append((time.perf_counter() - t0) * 1000)
    return pct(times)


def ndcg(ds: Any, qids: list[str], run: dict[str, dict[str, float]]) -> float:
    from qa.beir import evaluate

    return evaluate({q: run.get(q, {}) for q in qids}, ds.qrels)["ndcg_at_10"]


STORE_KEYS = {"faiss": "faiss", "lite": "milvus_lite", "lite-hybrid": "milvus_lite_hybrid", "server": "milvus_server"}
STORES = (
    ("faiss", "local store (FAISS)"),
    ("milvus_lite", "milvus-lite 3.2"),
    ("milvus_lite_hybrid", "milvus-lite 3.2, hybrid"),
    ("milvus_server", "Milvus server"),
)


def markers(r: dict[str, Any]) -> tuple[str, str]:
    """The 1,000-abstract run and the full run each own a section of --out."""
    if r["documents"] < 5000:
        return BEGIN, END
    return BEGIN.replace("bench:", "bench-full:"), END.replace("bench:", "bench-full:")


def write(out: Path, r: dict[str, Any], argv: list[str]) -> None:
    f = r["faiss"]
    rows = [(label, r[key]) for key, label in STORES if key in r]
    begin, end = markers(r)
    load = f"load average {r['load_before'][0]} before, {r['load_after'][0]} after"
    lines = [
        begin,
        "",
        f"SciFact, {r['documents']:,} abstracts ({r['chunks']:,} passages, {r['sentences']:,} sentences); "
        f"ask over {r['asks']} test queries in process, question embedding included; nDCG@10 over "
        f"{r['queries']} test queries whose judged abstracts are all in the corpus. One run, one machine "
        f"(2 shared cores, {load}), `nice -n 10 python -m bench.milvus_bench {' '.join(argv)}`.",
        "",
        "| store | lexical | ask p50 | ask p95 | × FAISS p50 | nDCG@10 | Δ nDCG | write (docs/s) | × local write "
        "| puts only (docs/s) | × local |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in rows:
        d = m["describe"]
        label = f"{name} {d['server']}" if name == "Milvus server" else name
        lines.append(
            f"| {label} | {d.get('lexical') or 'tantivy'} | {m['ask_ms']['p50']} ms | {m['ask_ms']['p95']} ms | "
            f"{m['ask_ms']['p50'] / f['ask_ms']['p50']:.1f}× | {m['ndcg_at_10']:.4f} | "
            f"{m['ndcg_at_10'] - f['ndcg_at_10']:+.4f} | {m['docs_per_s']:,} | {m['docs_per_s'] / f['docs_per_s']:.2f}× | "
            f"{m['put_docs_per_s']:,} | {m['put_docs_per_s'] / f['put_docs_per_s']:.2f}× |"
        )
    calls = "; ".join(
        f"{n}: " + ", ".join(f"{k} p50 {v['p50']} ms" for k, v in m.get("call_ms", {}).items())
        for n, m in rows
        if m.get("call_ms")
    )
    lines += ["", f"Milvus calls during the asks ({calls}).", "", end]
    replace_section(out, begin, end, "\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
