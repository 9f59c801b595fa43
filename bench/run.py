"""`make bench`: measure serving, indexing, embedding backends, scale and start-up, each next to a baseline
in the same run, and regenerate docs/BENCHMARKS.md.

    python -m bench.run [--quick] [--scifact DIR] [--limit N] [--only serving,indexing,backends,scale,startup] [--out FILE]

--quick is CI-sized (SciFact's first 500 abstracts, 200 requests per level, 50k vectors); the full run uses
all 5,183 abstracts, 2,000 requests per level plus a 10,000-request soak, and 100k and 1M vectors.
SciFact is read from --scifact (BEIR layout; default ../shared/bench/scifact); without it the indexing,
backend and scale sections are skipped and say so. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import render
from bench.scifact import DEFAULT_SCIFACT
from bench.system import ROOT, machine
from bench.workers import run_worker

FUZZ = r"<!-- make fuzz: begin -->.*<!-- make fuzz: end -->\n?"
# bench/growth.py's sections (stand-in, then --embedder real) and the notes between them, kept whole
GROWTH = r"<!-- growth:start -->.*<!-- growth(?:-real)?:end -->\n?"

SECTIONS = ("startup", "serving", "indexing", "backends", "scale")


def import_torch_s() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - t0


def default_backend() -> str:
    from index.embed import DEFAULT_BACKEND

    return os.environ.get("CITEQA_EMBEDDER") or DEFAULT_BACKEND


def run(args: argparse.Namespace) -> dict[str, Any]:
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    scifact = Path(args.scifact) if args.scifact else DEFAULT_SCIFACT
    has_scifact = (scifact / "queries.jsonl").exists()
    limit = ["--limit", str(args.limit)] if args.limit else (["--limit", "500"] if args.quick else [])
    results: dict[str, Any] = {
        "machine": machine(),
        "quick": args.quick,
        "default_backend": default_backend(),
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "skipped": [],
    }
    work = Path(tempfile.mkdtemp(prefix="citeqa-bench-"))
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", file=sys.stderr, flush=True)

    from bench import serving

    if "startup" in only:
        log("start-up: cold qa ask (default backend, torch), import torch")
        results["startup"] = {
            "import_torch_s": import_torch_s(),
            "cold_ask_s": {
                default_backend(): serving.cold_ask(work / "cold-default"),
                "torch": serving.cold_ask(work / "cold-torch", "torch"),
            },
        }
    if "serving" in only:
        log("serving: qa serve on 127.0.0.1, concurrency 1/8/32, soak, writes under load")
        results["serving"] = serving.run(work / "serve", args.quick)
        results["serving"]["embedder"] = default_backend()
    if not has_scifact and only & {"indexing", "backends", "scale"}:
        results["skipped"].append(f"indexing, backends, scale: no SciFact at {scifact} (pass --scifact DIR)")
        only -= {"indexing", "backends", "scale"}
    sf = ["--scifact", str(scifact), *limit]
    torch_vecs, qvecs, real = work / "torch.npy", work / "queries.npy", work / "real.npy"
    if only & {"indexing", "backends", "scale"}:
        log("indexing: baseline (sentence-transformers + IndexFlatIP)")
        base = run_worker("indexing", "baseline", *sf, "--vectors", str(torch_vecs))
        log(f"indexing: citeqa qa index ({default_backend()})")
        cite = run_worker("indexing", "citeqa", *sf, "--work", str(work / "scifact"), "--vectors", str(real))
        results["indexing"] = {
            "baseline": base,
            "citeqa": cite,
            "ratio_docs_per_s": cite["docs_per_s"] / base["docs_per_s"],
            "ratio_chunks_per_s": cite["chunks_per_s"] / base["docs_per_s"],
        }
    if "backends" in only or "scale" in only:
        rows = []
        for name in ("onnx-int8", "onnx"):
            if name != default_backend() and "backends" not in only:
                continue
            log(f"backends: {name}")
            extra = ["--vectors", str(qvecs)] if name == default_backend() else []
            full = name in ("onnx-int8", default_backend())  # nDCG@10 needs every abstract embedded
            sample = [] if full else ["--sample", "300" if args.quick else "1000"]
            rows.append(run_worker("indexing", "backend", name, *sf, *sample, "--compare", str(torch_vecs), *extra))
        if not qvecs.exists():
            rows.append(run_worker("indexing", "backend", default_backend(), *sf, "--vectors", str(qvecs)))
        results["backends"] = rows
    if "scale" in only:
        sizes = "50000" if args.quick else "100000,1000000"
        log(f"scale: {sizes} vectors")
        results["scale"] = run_worker("scale", "--vectors", str(real), "--queries", str(qvecs), "--sizes", sizes)
    results["wall_s"] = time.perf_counter() - t_start
    log("done")
    return results


def main() -> int:
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI-sized run")
    p.add_argument("--scifact", help=f"BEIR SciFact folder (default {DEFAULT_SCIFACT})")
    p.add_argument(
        "--limit",
        type=int,
        help="SciFact's first N abstracts for indexing, backends, scale (default all; 500 with --quick)",
    )
    p.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    p.add_argument("--json", help="also write the raw results here")
    args = p.parse_args()
    results = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    out = Path(args.out)
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    kept = [
        m.group(0) for m in (re.search(GROWTH, old, re.S), re.search(FUZZ, old, re.S)) if m
    ]  # sections of other runs
    out.write_text(render(results) + "".join(f"\n{k}" for k in kept), encoding="utf-8")
    print(f"wrote {args.out} in {results['wall_s'] / 60:.1f} min", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
