"""How the local store grows: index time, disk, open time, RSS, ask latency, add-one and delete-one, per corpus size.

    python -m bench.growth [--sizes 1000,10000] [--out docs/BENCHMARKS.md] [--work DIR]
    python -m bench.growth --sizes 100000          (the 100k row: about an hour of `qa index` on 2 cores)

Documents are synthetic: ~40 sentences each, words drawn from a Zipfian vocabulary of made-up words (so BM25 and
the stemmer see a realistic spread of rare and common terms). The embedder is a named stand-in (HashEmbedder:
384-d hashed bag of words, microseconds per text), so the numbers are the store's, not the model's. Each size is
indexed with the real `qa index` path (qa/sync.py), then measured in a fresh process (open, RSS, asks, writes).
The table replaces the section between the growth markers in --out (appended when absent).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import percentiles
from bench.system import ROOT, machine
from index.embed import Embedder

START, END = "<!-- growth:start -->", "<!-- growth:end -->"
REAL = "real"  # --embedder real: the default model (onnx-int8), its own section between these markers
MARKERS = {"stand-in": (START, END), REAL: ("<!-- growth-real:start -->", "<!-- growth-real:end -->")}


def embedder(kind: str) -> Any:
    """The stand-in (no model time) or citeqa's default embedder (index/embed.py)."""
    if kind == REAL:
        from index.embed import load_embedder

        return load_embedder()
    return HashEmbedder()


SYLLABLES = "ka lo mi ne su ta ri vo pe da gu ly zo be xi fa no te ru wa si ko".split()


class HashEmbedder(Embedder):
    """The stand-in: each word hashed into one of 384 buckets, unit rows (texts sharing words are close)."""

    name = "hash-bow-384"
    backend = "stand-in"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little") % self.dim] += 1.0
            out[i, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def vocabulary(n: int = 30_000, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES, rng.integers(2, 5))))
    return sorted(words)


def document(i: int, vocab: list[str], weights: np.ndarray, sentences: int = 40) -> str:
    rng = np.random.default_rng(1000 + i)
    lines = [f"Report {i} on {vocab[i % 500]} and {vocab[(i * 7) % 500]}", ""]
    body = []
    for _ in range(sentences):
        words = rng.choice(len(vocab), size=int(rng.integers(8, 20)), p=weights)
        body.append(" ".join(vocab[w] for w in words).capitalize() + ".")
    return "\n".join(lines) + " ".join(body) + "\n"


def write_corpus(folder: Path, n: int) -> None:
    vocab = vocabulary()
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    weights = 1.0 / ranks**1.07
    weights /= weights.sum()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"report-{i:06d}.txt"
        if not path.exists():
            path.write_text(document(i, vocab, weights), encoding="utf-8")


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def quick_split(text: str) -> Any:
    """The stand-in splitter (--fast-split): the synthetic sentences all end with a period, so a regex finds them;
    packing into passages is the real chunker's (index.chunk._pack)."""
    from index.build import Split
    from index.chunk import ChunkParams, _pack
    from index.sentences import Sentence

    sents = [Sentence(m.start(), m.end()) for m in re.finditer(r"[^\s.][^.\n]*\.|[^\n.]+(?=\n)", text)]
    rows, out = [], []
    for group in _pack(text, sents, ChunkParams()):
        rows.append((group[0].start, group[-1].end, sents.index(group[0]), sents.index(group[-1]) + 1))
    out = [(s.start, s.end, False) for s in sents]
    return Split(rows, out)


def build(n: int, work: Path, fast_split: bool = False, kind: str = "stand-in") -> dict[str, Any]:
    import resource

    from qa.engine import Settings
    from qa.sync import sync_folder

    corpus, index = work / f"corpus-{n}", work / (f"index-{n}" if kind != REAL else f"index-{n}-real")
    emb = embedder(kind)
    write_corpus(corpus, n)
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    if fast_split:  # the store's own path (prepare + put in batches of 32), without pysbd
        from index.build import prepare
        from index.documents import corpus_files, make_document
        from qa.engine import open_local_store

        store = open_local_store(Settings(corpus=corpus, index=index), emb, create=True)
        files = corpus_files(corpus)
        for i in range(0, len(files), 32):
            docs = [make_document(p.read_bytes(), name) for name, p in files[i : i + 32]]
            store.put(prepare(docs, emb, splits=[quick_split(d.text) for d in docs]))
        store.merge()
        counts = store.counts()
    else:
        report = sync_folder(Settings(corpus=corpus, index=index), emb)
        counts = {"documents": report.documents, "chunks": report.chunks}
    seconds = time.perf_counter() - t0
    return {
        **counts,
        "index_s": seconds,
        "docs_per_s": counts["documents"] / seconds,
        "disk_mb": du_mb(index),
        "corpus": str(corpus),
        "index": str(index),
        "splitter": "regex stand-in" if fast_split else "rules (qa index)",
        # the building process's peak so far (sizes are built in turn, smallest first): streaming keeps it flat
        "index_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that across the
    fork + exec that started this process, so it reported the indexing parent's 2.2 GB at 100k."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(corpus: Path, index: Path, asks: int = 300, writes: int = 20, kind: str = "stand-in") -> dict[str, Any]:
    """In a fresh process: open, then asks, then add-one / delete-one (each its own commit)."""

    from qa.engine import Engine, Settings

    t0 = time.perf_counter()
    engine = Engine.open(Settings(corpus=corpus, index=index), embedder=embedder(kind))
    open_s = time.perf_counter() - t0
    rss_open = _peak_rss_mb()
    vocab = vocabulary()
    rng = np.random.default_rng(7)
    lat, cpu_ask = [], []
    n_docs = engine.store.counts()["documents"]
    for _ in range(asks):
        words = [vocab[int(w)] for w in rng.integers(0, 3000, 4)]
        q = f"What about {' '.join(words)} in report {int(rng.integers(0, n_docs))}?"
        t, c = time.perf_counter(), time.process_time()
        engine.ask(q)
        lat.append((time.perf_counter() - t) * 1000)
        cpu_ask.append((time.process_time() - c) * 1000)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    weights = (1.0 / ranks**1.07) / (1.0 / ranks**1.07).sum()
    add, put, delete, cpu_add, cpu_put, cpu_delete = [], [], [], [], [], []
    for i in range(writes):
        text = document(10_000_000 + i, vocab, weights).encode()
        t, c = time.perf_counter(), time.process_time()
        doc, _ = engine.add(text, f"growth-new-{i}.txt")
        add.append(time.perf_counter() - t)
        cpu_add.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        engine.delete(doc.doc_id)
        delete.append(time.perf_counter() - t)
        cpu_delete.append(time.process_time() - c)
    from index.build import prepare

    for i in range(writes):  # the commit alone (no extraction, splitting or embedding)
        from index.documents import make_document

        p = prepare([make_document(document(20_000_000 + i, vocab, weights).encode(), f"put-{i}.txt")], engine.embedder)
        t, c = time.perf_counter(), time.process_time()
        engine.store.put(p)
        put.append(time.perf_counter() - t)
        cpu_put.append(time.process_time() - c)
        engine.store.remove([p[0].document.doc_id])
    return {
        "open_s": open_s,
        "rss_open_mb": rss_open,
        "rss_mb": _peak_rss_mb(),
        "ask_ms": percentiles(lat),
        "add_s": percentiles(add)["p50"],
        "put_s": percentiles(put)["p50"],
        "delete_s": percentiles(delete)["p50"],
        "store": engine.store.describe(),
        "cpu": {
            "ask_ms_p50": percentiles(cpu_ask)["p50"],
            "add_s": percentiles(cpu_add)["p50"],
            "put_s": percentiles(cpu_put)["p50"],
            "delete_s": percentiles(cpu_delete)["p50"],
        },
        "load_average": os.getloadavg(),
    }


def render(rows: list[dict[str, Any]], command: str, kind: str = "stand-in") -> str:
    m = machine()
    model = (
        "embedder stand-in `hash-bow-384` (hashed bag of words, so no model time is in these numbers)"
        if kind != REAL
        else "the default embedder (all-MiniLM-L6-v2, onnx-int8), so index time, add-one and ask include the model"
    )
    out = [
        MARKERS[kind][0],
        "## Growth of the local store (bench/growth.py)" + (", real model" if kind == REAL else ""),
        "",
        f"`{command}` on {m.get('cpu', '?')} ({m.get('cores', '?')} cores), synthetic documents of ~40 sentences from a "
        f"Zipfian vocabulary, {model}. Index: `qa index` (qa/sync.py, batches of 32). Open, RSS, asks and writes: a "
        "fresh process. add-one is `Engine.add` (extract, split, embed, durable upload file, commit); commit-only is "
        "`store.put` of a prepared document; delete-one is `Engine.delete`. RSS is the measuring process's peak "
        "(after the asks and writes).",
        "",
        "| documents | passages | index time | docs/s | disk | open | RSS | ask p50 | ask p99 | add-one p50 "
        "| commit-only p50 | delete-one p50 | vectors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " *" if r.get("splitter", "").startswith("regex") else ""
        out.append(
            f"| {r['documents']:,} | {r['chunks']:,} | {r['index_s']:.0f} s{mark} | {r['docs_per_s']:.0f}{mark} "
            f"| {r['disk_mb']:.0f} MB "
            f"| {r['open_s']:.2f} s | {r['rss_mb']:.0f} MB | {r['ask_ms']['p50']:.1f} ms | {r['ask_ms']['p99']:.1f} ms "
            f"| {r['add_s'] * 1000:.0f} ms | {r['put_s'] * 1000:.0f} ms | {r['delete_s'] * 1000:.0f} ms | {r['store']['index']} |"
        )
    if any(r.get("splitter", "").startswith("regex") for r in rows):
        out += [
            "",
            "\\* indexed through the store's write path (`prepare` + `store.put`, batches of 32, the real chunk "
            "packing) with a regex sentence splitter instead of `qa index`'s own (--fast-split).",
        ]
    rss = [f"{r['documents']:,}: {r['index_rss_mb']:.0f} MB" for r in rows if "index_rss_mb" in r]
    if rss:
        out += ["", "Peak RSS of the indexing process (sizes built in turn in one process): " + ", ".join(rss) + "."]
    out += [
        "",
        "The machine is shared: wall times above include waiting for a core. The same operations in CPU time of "
        "the measuring process (p50):",
        "",
        "| documents | ask CPU | add-one CPU | commit-only CPU | delete-one CPU | load average (1, 5, 15 min) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r.get("cpu")
        if c:
            la = ", ".join(f"{x:.1f}" for x in r.get("load_average", ()))
            out.append(
                f"| {r['documents']:,} | {c['ask_ms_p50']:.1f} ms | {c['add_s'] * 1000:.0f} ms | {c['put_s'] * 1000:.0f} ms "
                f"| {c['delete_s'] * 1000:.0f} ms | {la} |"
            )
    out += [
        "",
        "Targets at 100k documents: add/delete p50 <= 1 s (embedding excluded), open <= 3 s, ask p50 <= 50 ms, "
        "RSS <= 2 GB. --fast-split N indexes size N through `store.put` with a regex splitter; --remeasure re-measures "
        "the indexes kept in --work DIR; --embedder real uses the default model (its own section).",
        MARKERS[kind][1],
    ]
    return "\n".join(out) + "\n"


def write_section(path: Path, section: str, kind: str = "stand-in") -> None:
    start, end = MARKERS[kind]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    p.add_argument("--work", help="folder for corpora and indexes (default: a temporary one, removed after)")
    p.add_argument("--measure", nargs=2, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    p.add_argument(
        "--fast-split",
        default="",
        help="sizes (comma-separated) indexed with the regex stand-in splitter "
        "instead of pysbd: the store's write path without the sentence splitter's cost",
    )
    p.add_argument("--remeasure", action="store_true", help="with --work: measure the indexes already built there")
    p.add_argument("--embedder", choices=sorted(MARKERS), default="stand-in", help="real: the default model")
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]), kind=args.embedder)))
        return
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="citeqa-growth-"))
    rows = []
    try:
        for n in [int(x) for x in args.sizes.split(",")]:
            print(f"growth: indexing {n:,} documents", file=sys.stderr, flush=True)
            saved = work / (f"build-{n}.json" if args.embedder != REAL else f"build-{n}-real.json")
            if args.remeasure and saved.is_file():
                row = json.loads(saved.read_text())
            else:
                row = build(n, work, fast_split=str(n) in args.fast_split.split(","), kind=args.embedder)
                saved.write_text(json.dumps(row))
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.growth",
                    "--measure",
                    row["corpus"],
                    row["index"],
                    "--embedder",
                    args.embedder,
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "CITEQA_MAX_UPLOAD_SENTENCES": "100000"},
            )
            row.update(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"growth: {json.dumps(row)}", file=sys.stderr, flush=True)
            rows.append(row)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    command = "python -m bench.growth " + " ".join(sys.argv[1:])
    write_section(Path(args.out), render(rows, command, args.embedder), args.embedder)


if __name__ == "__main__":
    main()
