"""Prepared (chunked, embedded) documents kept in a work folder, so store benchmarks embed a corpus once.

    python -m bench.prepared_cache --scifact DIR [--docs 1000 | --full] [--work DIR]   # fill the cache

The documents are cut into shards of SHARD in corpus order; each shard is one pickle named by its documents'
ids and content hashes, the embedder's identity and the chunking manifest, e.g.
`prepared-500-3f9c0a1b2c3d4e5f.pkl`. A later run over the same corpus (the first 1,000 abstracts or all 5,183)
reads the shards it has and embeds only the missing ones; a run that stops keeps the shards it finished.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.scifact import DEFAULT_SCIFACT

SHARD = 500
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path(tempfile.gettempdir()) / "citeqa-milvus-bench"


def shard_path(docs: list[Any], embedder: Any, work: Path) -> Path:
    from index.build import chunking_manifest
    from index.chunk import ChunkParams

    key = json.dumps(
        [[d.doc_id, d.content_hash] for d in docs] + [embedder.identity(), chunking_manifest(ChunkParams())],
        sort_keys=True,
    )
    return work / f"prepared-{len(docs)}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"


def prepared_documents(docs: list[Any], embedder: Any, work: Path, log: Any = None) -> list[Any]:
    """index.build.prepare of `docs` with the real embedder, shard by shard, each read from `work` when there."""
    from index.build import prepare

    out: list[Any] = []
    for lo in range(0, len(docs), SHARD):
        part = docs[lo : lo + SHARD]
        path = shard_path(part, embedder, work)
        if path.is_file():
            with open(path, "rb") as fh:
                out += pickle.load(fh)
            continue
        t0 = time.perf_counter()
        got = prepare(part, embedder)
        work.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(got, fh)
        tmp.replace(path)
        out += got
        if log:
            print(f"embedded documents {lo}-{lo + len(part)} in {time.perf_counter() - t0:.0f} s", file=log, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scifact", default=str(DEFAULT_SCIFACT))
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--full", action="store_true")
    p.add_argument("--work", default=str(DEFAULT_WORK))
    args = p.parse_args(argv)
    from index.embed import load_embedder
    from qa.beir import load_dataset

    ds = load_dataset(args.scifact)
    docs = ds.documents if args.full else ds.documents[: args.docs]
    got = prepared_documents(docs, load_embedder(), Path(args.work), log=sys.stderr)
    print(json.dumps({"documents": len(got), "chunks": sum(len(x.chunks) for x in got)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
