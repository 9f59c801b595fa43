"""Helpers shared by the benchmark sections: machine facts, percentiles, process memory, workers, SciFact.

Each heavy measurement runs in its own Python process (`run_worker`) so its peak memory is its own and an
import (torch) in one does not speed up or slow down another.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCIFACT = ROOT.parent / "shared" / "bench" / "scifact"  # developer/CI copy; --scifact overrides


def percentiles(values: list[float], ps: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ..., "p95": ..., "p99": ...} by nearest rank; empty input gives NaN."""
    if not values:
        return {f"p{p}": float("nan") for p in ps}
    s = sorted(values)
    return {f"p{p}": s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))] for p in ps}


def proc_status_mb(pid: int, field: str = "VmRSS") -> float:
    """VmRSS (now) or VmHWM (peak) of a process in MiB, from /proc/<pid>/status; NaN once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    mem = proc_meminfo_gb()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    from index.build import library_versions

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem, "python": platform.python_version(),
            "load_average": os.getloadavg(), "commit": commit.stdout.strip() or "?", "versions": library_versions()}


def proc_meminfo_gb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            return round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        return float("nan")


def run_worker(module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run `python -m bench.<module> <args>` and return the JSON object it prints last."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", f"bench.{module}", *args], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=timeout)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"bench.{module} {' '.join(args)} failed ({out.returncode}):\n{tail}")
    result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
    result["process_s"] = time.perf_counter() - t0
    return result


@dataclass(frozen=True)
class Scifact:
    docs: list[tuple[str, str, str]]  # (doc_id, title, text)
    queries: dict[str, str]  # query id -> text, only those with judgements
    qrels: dict[str, dict[str, int]]  # query id -> {doc_id: gain}


def load_scifact(folder: Path, limit: int | None = None) -> Scifact:
    """BEIR layout: corpus.jsonl(.gz), queries.jsonl, qrels/test.tsv. `limit` keeps the first N documents and
    the queries whose relevant documents are all among them."""
    path = folder / "corpus.jsonl.gz"
    opener: Any = gzip.open if path.exists() else open
    path = path if path.exists() else folder / "corpus.jsonl"
    docs = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                docs.append((str(r["_id"]), r.get("title") or "", r.get("text") or ""))
    docs = docs[:limit] if limit else docs
    kept = {d for d, _, _ in docs}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].isdigit():
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    qrels = {q: r for q, r in qrels.items() if set(r) <= kept}
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if str(r["_id"]) in qrels:
                queries[str(r["_id"])] = r["text"]
    return Scifact(docs, queries, {q: qrels[q] for q in queries})


def doc_text(title: str, text: str) -> str:
    """How both baseline and backends embed an abstract (the BEIR convention: title, then text)."""
    return f"{title}. {text}" if title else text
