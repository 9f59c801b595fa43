"""Serving benchmark against a real `qa serve` on 127.0.0.1: start-up, latency at several concurrencies,
a soak for memory growth, and asks while documents are uploaded and deleted.

The load generator is plain threads, one keep-alive httpx.Client each, pulling from a bounded request count.
It runs on the same 2 cores as the server, so it costs the server some CPU: numbers are conservative.
Every answer's citations are checked against the document text (`text[start:end] == passage text`).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.stats import percentiles
from bench.system import ROOT, proc_status_mb
from bench.workers import free_port

KEY = "bench-key"
STAGES = ("embed", "search", "fuse", "rerank", "answer", "total")


def questions() -> list[str]:
    rows = [json.loads(x) for x in (ROOT / "tests/gold/questions.jsonl").read_text().splitlines() if x.strip()]
    return [r["question"] for r in rows if not r.get("history")]


class Server:
    """`qa serve` in a subprocess over a copy of the default corpus; the index is built before timing."""

    def __init__(self, work: Path, env: dict[str, str] | None = None) -> None:
        self.work = work
        self.corpus = work / "corpus"
        shutil.copytree(ROOT / "corpus", self.corpus, dirs_exist_ok=True)
        self.env = {**os.environ, "CITEQA_API_KEY": KEY, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def index(self) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "index",
                "--quiet",
                "--corpus",
                str(self.corpus),
                "--index",
                str(self.work / ".citeqa"),
            ],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )

    def start(self) -> dict[str, float]:
        """Launch and wait for the first answer: {"health_s": ..., "first_answer_s": ...}."""
        import httpx

        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--corpus",
                str(self.corpus),
                "--index",
                str(self.work / ".citeqa"),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.work / "server.log", "wb"),
        )
        health = None
        with httpx.Client(timeout=10) as client:
            while time.perf_counter() - t0 < 180:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"qa serve exited: {(self.work / 'server.log').read_text()[-500:]}")
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        health = time.perf_counter() - t0
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            r = client.post(f"{self.url}/v1/ask", json={"question": "What is the Safe Third Country Agreement?"})
            r.raise_for_status()
        return {"health_s": health or float("nan"), "first_answer_s": time.perf_counter() - t0}

    def rss_mb(self) -> float:
        return proc_status_mb(self.proc.pid) if self.proc else float("nan")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def document_texts(url: str) -> dict[str, str]:
    import httpx

    with httpx.Client(timeout=30) as c:
        ids = [d["doc_id"] for d in c.get(f"{url}/v1/documents").json()["documents"]]
        return {d: c.get(f"{url}/v1/documents/{d}").json()["text"] for d in ids}


def citations_ok(result: dict[str, Any], texts: dict[str, str]) -> bool:
    """Every passage and the answer sentence are exact slices of a known document's text."""
    cited = [*result["passages"], *([result["answer"]] if result["answer"] else [])]
    for p in cited:
        text = texts.get(p["doc_id"])
        if text is None or text[p["start"] : p["end"]] != p["text"]:
            return False
    return True


def load(url: str, total: int, concurrency: int, texts: dict[str, str], rss: Any = None) -> dict[str, Any]:
    """`total` asks over `concurrency` threads; latency, throughput, errors, stage times, RSS samples."""
    import httpx

    qs = questions()
    counter = itertools.count()
    lock = threading.Lock()
    lat: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    errors: list[str] = []
    bad_citations = 0
    unverifiable = 0  # cited a document that was deleted before its text could be fetched
    samples: list[tuple[int, float]] = []

    def worker() -> None:
        nonlocal bad_citations, unverifiable
        with httpx.Client(timeout=60) as client:
            while (i := next(counter)) < total:
                q = qs[i % len(qs)]
                t = time.perf_counter()
                try:
                    r = client.post(f"{url}/v1/ask", json={"question": q, "top_k": 5})
                    ms = (time.perf_counter() - t) * 1000
                    ok = r.status_code == 200
                    body = r.json() if ok else None
                except (httpx.HTTPError, ValueError) as exc:
                    ok, body, ms = False, None, (time.perf_counter() - t) * 1000
                    r = exc  # type: ignore[assignment]
                with lock:
                    lat.append(ms)
                    if not ok:
                        errors.append(str(getattr(r, "status_code", r))[:80])
                    else:
                        assert body is not None
                        # A document uploaded a moment ago is answerable before the writer has noted its text:
                        # fetch it; one deleted again since can no longer be checked and is counted apart.
                        for p in [*body["passages"], *([body["answer"]] if body["answer"] else [])]:
                            if p["doc_id"] not in texts:
                                got = client.get(f"{url}/v1/documents/{p['doc_id']}")
                                if got.status_code == 200:
                                    texts[p["doc_id"]] = got.json()["text"]
                        if any(p["doc_id"] not in texts for p in body["passages"]):
                            unverifiable += 1
                        else:
                            bad_citations += not citations_ok(body, texts)
                        for s in STAGES:
                            stages[s].append(float(body["timings_ms"].get(s, 0.0)))
                    if rss and i % 100 == 0:
                        samples.append((i, rss()))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return {
        "concurrency": concurrency,
        "requests": total,
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "bad_citations": bad_citations,
        "unverifiable": unverifiable,
        "rps": total / wall,
        "latency_ms": percentiles(lat),
        "stage_ms": {s: percentiles(v, (50, 95))["p50"] for s, v in stages.items()},
        "stage_p95_ms": {s: percentiles(v, (95,))["p95"] for s, v in stages.items()},
        "rss_samples": samples,
        "wall_s": wall,
    }


def writes_under_load(server: Server, cycles: int, asks: int) -> dict[str, Any]:
    """Asks at concurrency 8 while one client uploads and deletes documents; citations checked against the
    texts known at any time (the default documents and every upload)."""
    import httpx

    texts = document_texts(server.url)
    uploads: list[str] = []
    write_errors: list[str] = []
    done = threading.Event()

    def writer() -> None:
        head = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(timeout=120, headers=head) as c:
            for i in range(cycles):
                body = (
                    f"Bench note {i}\n\nThe bench harbour at Puerto Quetzal moved {1000 + i} containers of "
                    f"coffee in week {i}. Officials said the backlog cleared after {i + 2} days."
                )
                r = c.post(f"{server.url}/v1/documents", files={"file": (f"bench-{i}.txt", body.encode())})
                if r.status_code != 201:
                    write_errors.append(f"upload {r.status_code}")
                    continue
                doc_id = r.json()["doc_id"]
                texts[doc_id] = c.get(f"{server.url}/v1/documents/{doc_id}").json()["text"]
                uploads.append(doc_id)
                if i % 2 == 1:  # delete every other one again
                    d = c.delete(f"{server.url}/v1/documents/{doc_id}")
                    if d.status_code != 200:
                        write_errors.append(f"delete {d.status_code}")
        done.set()

    w = threading.Thread(target=writer)
    w.start()
    result = load(server.url, asks, 8, texts)
    w.join()
    for doc_id in uploads:  # leave the corpus as it was
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {KEY}"}) as c:
            c.delete(f"{server.url}/v1/documents/{doc_id}")
    return {**result, "uploads": len(uploads), "write_errors": write_errors, "writes_finished": done.is_set()}


def run(work: Path, quick: bool, embedder: str | None = None) -> dict[str, Any]:
    n = 200 if quick else 2000
    soak = 1000 if quick else 10_000
    env = {"CITEQA_EMBEDDER": embedder} if embedder else {}
    server = Server(work, env)
    server.index()
    out: dict[str, Any] = {"embedder": embedder or "default"}
    try:
        out["startup"] = server.start()
        out["rss_after_start_mb"] = server.rss_mb()
        texts = document_texts(server.url)
        load(server.url, 50, 4, texts)  # warm-up
        out["levels"] = [load(server.url, n, c, texts) for c in (1, 8, 32)]
        s = load(server.url, soak, 32, texts, rss=server.rss_mb)
        rss = [m for _, m in s["rss_samples"]]
        warm = rss[max(0, len(rss) // 10) :]
        s["rss_warm_mb"], s["rss_end_mb"], s["rss_max_mb"] = warm[0], rss[-1], max(rss)
        out["soak"] = {k: v for k, v in s.items() if k != "rss_samples"}
        out["writes"] = writes_under_load(server, 4 if quick else 12, 300 if quick else 1500)
        out["rss_end_mb"] = server.rss_mb()
    finally:
        server.stop()
    for level in out.get("levels", []):
        level.pop("rss_samples", None)
    out.get("writes", {}).pop("rss_samples", None)
    return out


def cold_ask(work: Path, embedder: str | None = None) -> float:
    """Wall seconds of one `qa ask` in a fresh process over an existing index."""
    env = {**os.environ, **({"CITEQA_EMBEDDER": embedder} if embedder else {})}
    corpus, index = work / "corpus", work / ".citeqa"
    if not corpus.exists():
        shutil.copytree(ROOT / "corpus", corpus)
    subprocess.run(
        [sys.executable, "-m", "cli", "index", "--quiet", "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "ask",
            "--corpus",
            str(corpus),
            "--index",
            str(index),
            "What is the Safe Third Country Agreement?",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0
