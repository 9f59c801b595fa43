"""`qa eval --beir DIR [--mode M] [--limit N] [--cache C] [--json] [--verbose]`: a BEIR dataset's metrics.

Prints, e.g.
    scifact: 300 queries, mode full, index cached (5183 documents, 11k passages)
    nDCG@10     0.7xx
    Recall@100  0.9xx
    MRR@10      0.6xx
    ms/query    25.1
or with --json {"ndcg_at_10": ..., "recall_at_100": ..., "mrr_at_10": ..., "queries": 300, "ms_per_query": ...,
"mode": "full", "dataset": "scifact", "corpus_sha256": "...", "index_built": false}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from cli.progress import ProgressBar
from index.errors import CiteqaError


def run_beir_command(args: argparse.Namespace) -> int:
    from index.embed import load_embedder
    from qa.beir import cached_index, evaluate, load_dataset, run_queries
    from qa.retrieve import RetrievalConfig

    if args.limit is not None and args.limit < 1:
        raise CiteqaError(f"--limit must be at least 1, got {args.limit}")
    ds = load_dataset(args.beir)
    embedder = load_embedder(getattr(args, "embedder", None))
    t0 = time.perf_counter()
    bar = ProgressBar("doc", desc="indexing corpus")
    store, built = cached_index(ds, embedder, args.cache, bar)
    counts = store.counts()
    bar.close()
    index_s = time.perf_counter() - t0
    config = RetrievalConfig()
    if args.mode:
        config = dataclasses.replace(config, mode=args.mode)
    qids = list(ds.queries)[: args.limit] if args.limit else list(ds.queries)
    result = run_queries(ds, store, embedder, config, query_ids=qids)
    metrics = evaluate(result.run, ds.qrels)
    out = {
        **{k: round(v, 4) for k, v in metrics.items()},
        "queries": len(qids),
        "ms_per_query": round(result.ms_per_query, 2),
        "mode": config.mode,
        "dataset": ds.folder.resolve().name,
        "documents": counts["documents"],
        "passages": counts["chunks"],
        "corpus_sha256": ds.corpus_sha256,
        "index_built": built,
        "index_seconds": round(index_s, 1),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if args.verbose:
        from qa.metrics import ndcg_at_k

        for qid in qids:
            docs = result.run[qid]
            ranked = sorted(docs, key=lambda d: -docs[d])
            rel = {d: float(g) for d, g in ds.qrels[qid].items()}
            print(
                f"{qid:>6} nDCG@10 {ndcg_at_k(ranked, rel, 10):.3f}  top: {' '.join(ranked[:5])}  relevant: "
                f"{' '.join(sorted(rel))}"
            )
        print()
    state = "built now" if built else "from the cache"
    print(
        f"{out['dataset']}: {len(qids)} queries, mode {config.mode}, index {state} "
        f"({counts['documents']} documents, {counts['chunks']} passages)"
    )
    print(f"nDCG@10     {metrics['ndcg_at_10']:.4f}")
    print(f"Recall@100  {metrics['recall_at_100']:.4f}")
    print(f"MRR@10      {metrics['mrr_at_10']:.4f}")
    print(f"ms/query    {result.ms_per_query:.1f}")
    return 0
