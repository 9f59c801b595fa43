"""`qa index` end to end, as a user runs it, into the local store and into a real Milvus server: documents/s.

    .venv/bin/python -m bench.milvus_index [--scifact DIR] [--docs 1000] [--out docs/DEPLOY.md]

The first --docs SciFact abstracts are written as a corpus folder (`<id>.txt`, titles in metadata.json); then, in
one run, the real CLI (`python -m cli index`, the default embedder, a fresh process each) indexes it into the local
store, into Milvus 2.3.5 (`milvus-server` on free loopback ports, tests/milvus_server.py), and into the local store
again, so that a drift of the machine's load shows as the gap between the two local runs. The wall time counts
what a user waits for: start, reading, embedding, writing, and for Milvus the seal, index build and hand-over that
`qa index` waits for before it says it is done. bench/milvus_bench.py measures the storage part alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import replace_section
from bench.scifact import DEFAULT_SCIFACT, load_scifact, write_corpus
from bench.system import ROOT

BEGIN, END = "<!-- milvus-index:begin -->", "<!-- milvus-index:end -->"


def qa_index(corpus: Path, index: Path, store: str | None = None) -> float:
    cmd = [sys.executable, "-m", "cli", "index", "--corpus", str(corpus), "--index", str(index)]
    cmd += ["--store", store] if store else []
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=7200, env=os.environ.copy())
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"qa index failed: {proc.stderr[-2000:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scifact", default=str(DEFAULT_SCIFACT))
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--out", help="write the section between the markers in this file (docs/DEPLOY.md)")
    args = p.parse_args(argv)
    from tests.milvus_server import start

    data = load_scifact(Path(args.scifact), args.docs)
    n = len(data.docs)
    work = Path(tempfile.mkdtemp(prefix="citeqa-milvus-index-"))
    result: dict[str, Any] = {"documents": n, "load_before": [round(x, 1) for x in os.getloadavg()]}
    try:
        write_corpus(data, work / "corpus")
        result["local_1"] = qa_index(work / "corpus", work / "local-1")
        print(f"local: {result['local_1']:.1f} s", file=sys.stderr, flush=True)
        server = start(work / "server")
        try:
            result["server"] = qa_index(work / "corpus", work / "server-index", server.uri)
        finally:
            server.stop()
        print(f"server: {result['server']:.1f} s", file=sys.stderr, flush=True)
        result["local_2"] = qa_index(work / "corpus", work / "local-2")
        print(f"local again: {result['local_2']:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_after"] = [round(x, 1) for x in os.getloadavg()]
    local = (result["local_1"] + result["local_2"]) / 2
    result["ratio"] = round(local / result["server"], 3)  # rate ratio = time ratio inverted
    print(json.dumps(result))
    if args.out:
        write(Path(args.out), result, args.docs)
    return 0


def write(out: Path, r: dict[str, Any], docs: int) -> None:
    n = r["documents"]
    rows = [
        ("local store (FAISS), first", r["local_1"]),
        ("Milvus server 2.3.5", r["server"]),
        ("local store (FAISS), again", r["local_2"]),
    ]
    lines = [
        BEGIN,
        f"`qa index` of {n:,} SciFact abstracts, end to end (`python -m bench.milvus_index --docs {docs}`; the real",
        "CLI and default embedder, a fresh process per run; Milvus's seal, index build and hand-over included; load",
        f"average {r['load_before']} before, {r['load_after']} after):",
        "",
        "| run | seconds | documents/s |",
        "|---|---|---|",
        *(f"| {name} | {sec:.1f} | {n / sec:.1f} |" for name, sec in rows),
        "",
        f"Milvus server against the mean of the two local runs: **{r['ratio']:.2f}×** the local store's rate.",
        END,
    ]
    replace_section(out, BEGIN, END, "\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
