"""FAISS, milvus-lite and a real Milvus server on SciFact, in one run: ask latency, nDCG@10, bulk write rate.

    .venv/bin/python -m bench.milvus_bench [--scifact DIR] [--docs 1000 | --full] [--asks 50] [--out docs/DEPLOY.md]

Corpus: SciFact's abstracts (the first --docs, or all 5,183 with --full), prepared once (index.build.prepare,
the real default embedder) and kept in --cache; every store then receives the same prepared rows, so the
write rates compare storage, not embedding. The real server is Milvus 2.3.5 from `milvus-server`
(tests/milvus_server.py), on free loopback ports, started and stopped here.

Measured per store:
    write    Store.put in batches of qa.sync.BATCH documents under the write lock, then Store.merge, as `qa index`
             does once the documents are embedded (embedding is the same work for every store and is excluded)
    ask      Engine.ask over each store in process (question embedding included), --asks SciFact queries,
             after one warm-up ask; p50 and p95
    nDCG@10  SciFact test queries whose judged documents are all in the corpus, retrieval as `qa beir` runs it
Writes a section between the markers in --out and prints one JSON object.
"""

from __future__ import annotations

import argparse
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
    p.add_argument(
        "--cache",
        default=str(Path(tempfile.gettempdir()) / "citeqa-milvus-bench"),
        help="where the prepared (embedded) documents are kept between runs",
    )
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
    prepared = prepared_documents(docs, embedder, Path(args.cache))
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
    try:
        local = LocalStore.open(work / "local", embedder.identity(), chunking_manifest(ChunkParams()), create=True)
        result["faiss"] = run_store(local, prepared, ds, qids, embedder, work, args.asks)

        def milvus(uri: str) -> Any:
            store = MilvusStore(parse_store(uri), prefix="bench")
            store.connect(expected_manifest(embedder), create=True)
            return store

        result["milvus_lite"] = run_store(
            milvus(f"milvus://{work / 'lite.db'}"), prepared, ds, qids, embedder, work, args.asks
        )
        from tests.milvus_server import start

        server = start(work / "server")
        try:
            result["milvus_server"] = run_store(milvus(server.uri), prepared, ds, qids, embedder, work, args.asks)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    write(Path(args.out), result)
    return 0


def prepared_documents(docs: list[Any], embedder: Any, cache: Path) -> list[Any]:
    """index.build.prepare of the documents (the real model), kept in `cache` by corpus and embedder."""
    import hashlib
    import pickle

    from index.build import prepare

    key = hashlib.sha256(
        json.dumps([[d.doc_id, d.content_hash] for d in docs] + [embedder.identity()], sort_keys=True).encode()
    ).hexdigest()[:16]
    path = cache / f"prepared-{len(docs)}-{key}.pkl"
    if path.is_file():
        with open(path, "rb") as fh:
            return list(pickle.load(fh))
    out = prepare(docs, embedder)
    cache.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(out, fh)
    return out


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
    """Write the prepared documents as `qa index` does (batches of 32, one commit each), then ask and rank."""
    from qa.beir import run_queries
    from qa.engine import Engine, Settings
    from qa.retrieve import RetrievalConfig
    from qa.sync import BATCH

    t0 = time.perf_counter()
    for lo in range(0, len(prepared), BATCH):
        with store.writing():
            store.put(prepared[lo : lo + BATCH])
    store.merge()
    write_s = time.perf_counter() - t0
    out: dict[str, Any] = {
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


def write(out: Path, r: dict[str, Any]) -> None:
    f, lite, srv = r["faiss"], r["milvus_lite"], r["milvus_server"]
    rows = [
        ("local store (FAISS)", f, f["describe"].get("lexical", "—")),
        ("milvus-lite 3.2", lite, lite["describe"]["lexical"]),
        (f"Milvus server {srv['describe']['server']}", srv, srv["describe"]["lexical"]),
    ]
    lines = [
        BEGIN,
        "",
        f"SciFact, {r['documents']:,} abstracts ({r['chunks']:,} passages, {r['sentences']:,} sentences); "
        f"ask over {r['asks']} test queries in process, question embedding included; nDCG@10 over "
        f"{r['queries']} test queries whose judged abstracts are all in the corpus. One run, one machine "
        "(2 shared cores), `python -m bench.milvus_bench" + ("" if r["documents"] < 5000 else " --full") + "`.",
        "",
        "| store | lexical | ask p50 | ask p95 | × FAISS p50 | nDCG@10 | write (docs/s) | × local write |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m, lex in rows:
        lines.append(
            f"| {name} | {lex} | {m['ask_ms']['p50']} ms | {m['ask_ms']['p95']} ms | "
            f"{m['ask_ms']['p50'] / f['ask_ms']['p50']:.1f}× | {m['ndcg_at_10']:.4f} | {m['docs_per_s']:,} | "
            f"{m['docs_per_s'] / f['docs_per_s']:.2f}× |"
        )
    calls = "; ".join(
        f"{n}: " + ", ".join(f"{k} p50 {v['p50']} ms" for k, v in m.get("call_ms", {}).items()) for n, m, _ in rows[1:]
    )
    lines += ["", f"Milvus calls during the asks ({calls}).", "", END]
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n## Benchmark: FAISS, milvus-lite, Milvus server\n\n" + block + "\n"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
