"""FAISS, milvus-lite and a real Milvus server on SciFact, in one run: ask latency, nDCG@10, bulk write rate.

    .venv/bin/python -m bench.milvus_bench [--scifact DIR] [--docs 1000 | --full] [--asks 50] [--out docs/DEPLOY.md]

Corpus: SciFact's abstracts (the first --docs, or all 5,183 with --full), chunked and embedded once by
qa.beir.cached_index (the real default embedder); every store then receives the same prepared rows, so the
write rates compare storage, not embedding. The real server is Milvus 2.3.5 from `milvus-server`
(tests/milvus_server.py), on free loopback ports, started and stopped here.

Measured per store:
    write    local: the FAISS index files + BM25 statistics saved (index.storage.save);
             Milvus: MilvusStore.put in batches of qa.milvus_engine.SYNC_BATCH_DOCS documents, then flush
    ask      Engine.ask / MilvusEngine.ask in process (question embedding included), --asks SciFact queries,
             after one warm-up ask; p50 and p95
    nDCG@10  SciFact test queries whose judged documents are all in the corpus, retrieval as `qa beir` runs it
Writes a section between the markers in --out and prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- milvus-bench:begin -->", "<!-- milvus-bench:end -->"


def pct(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"p50": round(statistics.median(s), 1), "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scifact", default=str(ROOT.parent / "shared" / "bench" / "scifact"))
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--full", action="store_true", help="all 5,183 abstracts")
    p.add_argument("--asks", type=int, default=50)
    p.add_argument("--cache", help="index cache folder (default: qa beir's)")
    p.add_argument("--out", default=str(ROOT / "docs" / "DEPLOY.md"))
    args = p.parse_args(argv)

    from index.embed import load_embedder
    from qa.beir import cached_index, load_dataset

    embedder = load_embedder()
    ds = load_dataset(args.scifact)
    if not args.full:  # the first --docs abstracts, embedded and cached on their own
        ds = dataclasses.replace(ds, documents=ds.documents[: args.docs], corpus_sha256=f"{ds.corpus_sha256}-{args.docs}")
    index, _ = cached_index(ds, embedder, args.cache)
    ids = set(index.documents)
    qids = [q for q in ds.queries if ds.qrels.get(q) and set(ds.qrels[q]) <= ids]
    work = Path(tempfile.mkdtemp(prefix="citeqa-milvus-bench-"))
    result: dict[str, Any] = {"documents": len(index.documents), "chunks": len(index.chunks),
                              "sentences": len(index.sentences), "queries": len(qids), "asks": args.asks}
    try:
        result["faiss"] = run_local(index, ds, qids, embedder, work, args.asks)
        result["milvus_lite"] = run_milvus(index, ds, qids, embedder, f"milvus://{work / 'lite.db'}", args.asks)
        from tests.milvus_server import start

        server = start(work / "server")
        try:
            result["milvus_server"] = run_milvus(index, ds, qids, embedder, server.uri, args.asks)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    write(Path(args.out), result)
    return 0


def run_local(index: Any, ds: Any, qids: list[str], embedder: Any, work: Path, asks: int) -> dict[str, Any]:
    from index.storage import save
    from qa.beir import run_queries
    from qa.engine import Engine, Settings
    from qa.retrieve import RetrievalConfig

    t0 = time.perf_counter()
    save(index, work / "faiss")
    write_s = time.perf_counter() - t0
    engine = Engine(Settings(corpus=work / "none", index=work / "faiss"), embedder, index)
    out = {"write_s": round(write_s, 2), "docs_per_s": round(len(index.documents) / write_s)}
    out["ask_ms"] = ask_times(engine, ds, qids, asks)
    out["ndcg_at_10"] = round(ndcg(ds, qids, run_queries(ds, index, embedder, RetrievalConfig(), query_ids=qids).run), 4)
    return out


def run_milvus(index: Any, ds: Any, qids: list[str], embedder: Any, store_uri: str, asks: int) -> dict[str, Any]:
    from index.milvus_store import MilvusStore, parse_store
    from qa.engine import Settings
    from qa.milvus_engine import SYNC_BATCH_DOCS, MilvusEngine, expected_manifest, prepared

    store = MilvusStore(parse_store(store_uri), prefix="bench")
    store.connect(expected_manifest(embedder), create=True)
    order = list(index.documents)
    t0 = time.perf_counter()
    for lo in range(0, len(order), SYNC_BATCH_DOCS):
        store.put([prepared(index, d, "corpus") for d in order[lo : lo + SYNC_BATCH_DOCS]], fresh=True)
    store.flush()
    write_s = time.perf_counter() - t0
    settings = Settings(corpus=Path("none"), store=store_uri)
    engine = MilvusEngine(settings, embedder, store)
    engine.store.connect(expected_manifest(embedder), create=False)
    out = {"write_s": round(write_s, 2), "docs_per_s": round(len(order) / write_s),
           "server": store.caps.version if store.caps else None, "lexical": (store.manifest or {}).get("lexical")}
    engine.ask("warm-up question about cells")
    out["ask_ms"] = ask_times(engine, ds, qids, asks)
    out["ndcg_at_10"] = round(ndcg(ds, qids, milvus_run(engine, ds, qids, index)), 4)
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


def milvus_run(engine: Any, ds: Any, qids: list[str], index: Any) -> dict[str, dict[str, float]]:
    """`qa beir`'s ranking through Milvus: the candidates (two round trips), then the same `retrieve`."""
    from qa.beir import rank_documents
    from qa.retrieve import retrieve

    depth = 100
    chunk_depth = depth * max(1, round(3 * len(index.chunks) / max(1, len(index.documents))))
    run = {}
    vecs = engine.embedder.embed([ds.queries[q] for q in qids])
    for q, v in zip(qids, vecs):
        mini = engine._candidates(ds.queries[q], v, 10, None)
        hits = retrieve(ds.queries[q], mini, chunk_depth, qvec=v, config=engine.retrieval)
        docs = rank_documents(mini, [h.row for h in hits], depth)
        run[q] = {d: float(depth - i) for i, d in enumerate(docs)}
    return run


def ndcg(ds: Any, qids: list[str], run: dict[str, dict[str, float]]) -> float:
    from qa.beir import evaluate

    return evaluate({q: run.get(q, {}) for q in qids}, ds.qrels)["ndcg_at_10"]


def write(out: Path, r: dict[str, Any]) -> None:
    f, lite, srv = r["faiss"], r["milvus_lite"], r["milvus_server"]
    rows = [("FAISS (local store)", f, "—"), ("milvus-lite 3.2", lite, lite["lexical"]),
            (f"Milvus server {srv['server']}", srv, srv["lexical"])]
    lines = [BEGIN, "",
             f"SciFact, {r['documents']:,} abstracts ({r['chunks']:,} passages, {r['sentences']:,} sentences); "
             f"ask over {r['asks']} test queries in process, question embedding included; nDCG@10 over "
             f"{r['queries']} test queries whose judged abstracts are all in the corpus. One run, one machine "
             "(2 shared cores), `python -m bench.milvus_bench" + ("" if r["documents"] < 5000 else " --full") + "`.", "",
             "| store | lexical | ask p50 | ask p95 | × FAISS p50 | nDCG@10 | write (docs/s) | × local write |",
             "|---|---|---|---|---|---|---|---|"]
    for name, m, lex in rows:
        lines.append(f"| {name} | {lex} | {m['ask_ms']['p50']} ms | {m['ask_ms']['p95']} ms | "
                     f"{m['ask_ms']['p50'] / f['ask_ms']['p50']:.1f}× | {m['ndcg_at_10']:.4f} | {m['docs_per_s']:,} | "
                     f"{m['docs_per_s'] / f['docs_per_s']:.2f}× |")
    lines += ["", END]
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n## Benchmark: FAISS, milvus-lite, Milvus server\n\n" + block + "\n"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
