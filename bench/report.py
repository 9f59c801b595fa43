"""Results of bench/run.py -> the markdown of docs/BENCHMARKS.md (pure formatting, no measuring)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any


def cell(x: Any, nd: int = 1) -> str:
    """One table cell: 1234 -> "1,234", 0.51234 -> "0.5" (nd decimals), None or NaN -> "–"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(c if isinstance(c, str) else cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def replace_section(path: Path, begin: str, end: str, block: str) -> None:
    """Put `block` (which starts with `begin` and ends with `end`) in place of the text between those markers in
    `path`, or append it: how a benchmark rewrites its own section of a docs page and leaves the rest alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def _targets(r: dict[str, Any]) -> list[str]:
    rows = []
    s = r.get("serving")
    if s:
        c1 = s["levels"][0]["latency_ms"]["p50"]
        c32 = s["levels"][2]
        rows.append(["/v1/ask p50 at concurrency 1 ≤ 15 ms", f"{c1:.1f} ms", "yes" if c1 <= 15 else "no"])
        rows.append(
            [
                "no errors at concurrency 32",
                f"{c32['errors']} errors / {c32['requests']}",
                "yes" if c32["errors"] == 0 else "no",
            ]
        )
        soak = s["soak"]
        growth = soak["rss_end_mb"] - soak["rss_warm_mb"]
        rows.append(
            [
                f"{soak['requests']:,} asks at concurrency 32: zero errors, memory flat",
                f"{soak['errors']} errors, RSS {soak['rss_warm_mb']:.0f} → {soak['rss_end_mb']:.0f} MiB",
                "yes" if soak["errors"] == 0 and growth < 50 else "no",
            ]
        )
    ix = r.get("indexing")
    if ix:
        ratio = ix["ratio_docs_per_s"]
        nd = ix["citeqa"].get("ndcg10")
        full = ix["citeqa"]["docs"] >= 5183
        rows.append(
            [
                "indexing ≥ 1.5× the plain baseline in documents/s" + (", SciFact nDCG@10 ≥ 0.737" if full else ""),
                f"{ratio:.2f}×" + (f", nDCG@10 {nd:.3f}" if nd is not None else ""),
                "yes" if ratio >= 1.5 and (not full or (nd or 0) >= 0.737) else "no",
            ]
        )
    sc = r.get("scale")
    if sc:
        big = max(sc["sizes"], key=lambda x: x["n"])
        chosen = [t for t in big["types"] if t["type"] == t["spec"]["type"] and t["type"] != "flat"]
        for t in chosen[-1:]:
            ok = t["query_ms"]["p50"] <= 10 and t["recall10"] >= 0.95 and t["structure_mb"] <= 1024
            rows.append(
                [
                    f"at {big['n']:,} vectors: ≤ 10 ms/query, recall@10 ≥ 0.95, index ≤ 1 GB",
                    f"{t['type']}: {t['query_ms']['p50']:.2f} ms, recall {t['recall10']:.3f}, "
                    f"{t['structure_mb']:.0f} MiB (+ {big['float32_rows_mb']:.0f} MiB float32 rows)",
                    "yes" if ok else "no",
                ]
            )
    return table(["target", "measured", "met"], rows) if rows else []


def _serving(s: dict[str, Any]) -> list[str]:
    out = [
        "## 1. Serving: `/v1/ask` on a real `qa serve` (127.0.0.1)",
        "",
        f"Default corpus, embedder `{s['embedder']}`, top_k 5, gold-set questions in turn. Every answer's "
        "citations checked against the document text. The load generator shares the 2 cores with the server.",
        "",
    ]
    rows = [
        [
            lv["concurrency"],
            lv["requests"],
            lv["latency_ms"]["p50"],
            lv["latency_ms"]["p95"],
            lv["latency_ms"]["p99"],
            lv["rps"],
            lv["errors"],
            lv["bad_citations"],
        ]
        for lv in s["levels"]
    ]
    sk = s["soak"]
    rows.append(
        [
            f"{sk['concurrency']} (soak)",
            sk["requests"],
            sk["latency_ms"]["p50"],
            sk["latency_ms"]["p95"],
            sk["latency_ms"]["p99"],
            sk["rps"],
            sk["errors"],
            sk["bad_citations"],
        ]
    )
    out += table(["concurrency", "requests", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors", "bad citations"], rows)
    out += ["Server-side time per stage (the answer's own `timings_ms`, p50 ms):", ""]
    stages = list(s["levels"][0]["stage_ms"])
    out += table(
        ["concurrency", *stages], [[lv["concurrency"], *[lv["stage_ms"][x] for x in stages]] for lv in s["levels"]]
    )
    w = s["writes"]
    out += [
        f"Server RSS: {s['rss_after_start_mb']:.0f} MiB after start-up; soak {sk['rss_warm_mb']:.0f} MiB after "
        f"warm-up → {sk['rss_end_mb']:.0f} MiB at the end (max {sk['rss_max_mb']:.0f}); "
        f"{s['rss_end_mb']:.0f} MiB after the write test.",
        "",
        f"Writes under load: {w['requests']:,} asks at concurrency 8 while {w['uploads']} documents were uploaded "
        f"(every other one deleted again): {w['errors']} ask errors, {w['bad_citations']} unresolvable citations "
        f"({w.get('unverifiable', 0)} answers citing a document deleted before it could be checked), "
        f"write errors {w['write_errors'] or 'none'}; p50 {w['latency_ms']['p50']:.1f} ms, "
        f"p99 {w['latency_ms']['p99']:.1f} ms.",
        "",
    ]
    return out


def _startup(r: dict[str, Any]) -> list[str]:
    st = r["startup"]
    rows = [[f"cold `qa ask` ({k})", v] for k, v in st["cold_ask_s"].items()]
    rows.append(["`python -c 'import torch'` (reference)", st["import_torch_s"]])
    if r.get("serving"):
        su = r["serving"]["startup"]
        rows.append(["`qa serve` → /health answers", su["health_s"]])
        rows.append(["`qa serve` → first /v1/ask answer", su["first_answer_s"]])
    return ["## 5. Start-up", "", *table(["what", "seconds"], [[a, round(b, 2)] for a, b in rows])]


def _indexing(ix: dict[str, Any]) -> list[str]:
    b, c = ix["baseline"], ix["citeqa"]
    mode = c.get("sentence_vectors", "separate")
    how = {
        "late": "embed every passage once and pool each sentence's vector from the passage run's token states "
        "(late chunking, index/vectorize.py)",
        "separate": "embed every passage *and* every sentence",
        "sentences": "embed every sentence once and pool each passage's vector from its sentences' token states",
    }
    out = [
        "## 2. Indexing SciFact",
        "",
        "Baseline: `SentenceTransformer.encode(title + abstract, batch_size=32, normalize_embeddings=True)` + "
        "`faiss.IndexFlatIP`, in its own process. citeqa: the `qa index` path (read files, clean, split sentences "
        f"({c.get('splitter', 'pysbd')}), chunk, {how.get(mode, mode)}, BM25, atomic save), in its own process. "
        "Model load excluded from both rates and shown apart. nDCG@10 over the claims whose relevant abstracts "
        "are all indexed: the baseline's is dense retrieval over abstracts, citeqa's its full pipeline.",
        "",
    ]
    out += table(
        [
            "",
            "documents",
            "chunks",
            "texts embedded",
            "model load s",
            "index s",
            "docs/s",
            "chunks/s",
            "nDCG@10",
            "peak RSS MiB",
        ],
        [
            [
                "baseline",
                b["docs"],
                b["docs"],
                b["docs"],
                b["load_s"],
                b["index_s"],
                b["docs_per_s"],
                b["docs_per_s"],
                _nd(b.get("ndcg10")),
                b["peak_rss_mb"],
            ],
            [
                c["name"],
                c["docs"],
                c["chunks"],
                c["texts_embedded"],
                c["load_s"],
                c["index_s"],
                c["docs_per_s"],
                c["chunks_per_s"],
                _nd(c.get("ndcg10")),
                c["peak_rss_mb"],
            ],
        ],
    )
    out += [
        f"Ratio citeqa / baseline: **{ix['ratio_docs_per_s']:.2f}×** in documents per second "
        f"({ix['ratio_chunks_per_s']:.2f}× in chunks per second) over {b.get('queries', '?')} claims; "
        f"citeqa runs the model over {c['texts_embedded'] / max(1, c['docs']):.1f} texts per document "
        f"(sentence vectors: {mode}) against the baseline's 1.",
        "",
    ]
    return out


def _backends(r: dict[str, Any]) -> list[str]:
    b = r.get("indexing", {}).get("baseline")
    rows = []
    if b:
        rows.append(
            [
                "torch (sentence-transformers, the baseline above)",
                b["docs"],
                b["load_s"],
                b["docs_per_s"],
                b["query_ms"]["p50"],
                _nd(b.get("ndcg10")),
                "1",
                "yes",
            ]
        )
    for x in r["backends"]:
        cos = x.get("cosine_vs_torch") or {}
        delta = f" ({x['ndcg10'] - b['ndcg10']:+.4f})" if b and b.get("ndcg10") and x.get("ndcg10") else ""
        rows.append(
            [
                x["name"],
                x["docs"],
                x["load_s"],
                x["docs_per_s"],
                x["query_ms"]["p50"],
                _nd(x.get("ndcg10")) + delta,
                f"{cos['mean']:.4f} / {cos['min']:.4f}" if cos else "–",
                "yes" if x["torch_imported"] else "no",
            ]
        )
    out = [
        "## 3. Embedding backends",
        "",
        "Same texts (SciFact title + abstract), one process each. nDCG@10: dense retrieval of the SciFact test "
        "claims over the abstracts. Cosine: against the torch vectors of the same texts (mean / min). Single-query "
        "latency: one claim at a time. `load s` includes the imports and, for ONNX, reading the cached export. "
        f"nDCG@10 over {b['queries'] if b else '?'} claims (in parentheses: the difference to torch).",
        "",
    ]
    out += table(
        ["backend", "texts", "load s", "texts/s", "query p50 ms", "nDCG@10", "cosine vs torch", "imports torch"], rows
    )
    return out


def _nd(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def _scale(sc: dict[str, Any]) -> list[str]:
    out = [
        "## 4. Scale",
        "",
        f"Real citeqa embeddings of SciFact passages and sentences ({sc['sizes'][0]['base_vectors']:,} vectors) "
        f"tiled with Gaussian noise (σ={sc['noise']} per dimension) to each size; {sc['queries']} real SciFact "
        "claims as queries, k=10, one query at a time through citeqa's `VectorStore.search` (approximate types "
        "re-score their candidates exactly). Structure: the faiss index the type adds; citeqa also keeps the "
        "float32 rows for exact scores and the rerank (shown per size).",
        "",
    ]
    rows = []
    for size in sc["sizes"]:
        for t in size["types"]:
            spec = {k: v for k, v in t["spec"].items() if k != "type"}
            rows.append(
                [
                    size["n"],
                    t["type"],
                    ", ".join(f"{k}={v}" for k, v in spec.items()) or "exact",
                    t["build_s"],
                    t["structure_mb"],
                    t["query_ms"]["p50"],
                    t["query_ms"]["p95"],
                    f"{t['recall10']:.3f}",
                ]
            )
    out += table(["vectors", "type", "parameters", "build s", "structure MiB", "p50 ms", "p95 ms", "recall@10"], rows)
    out += [
        "float32 rows held beside the structure: "
        + ", ".join(f"{s['n']:,} → {s['float32_rows_mb']:,.0f} MiB" for s in sc["sizes"])
        + ".",
        "",
    ]
    return out


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        "# citeqa benchmarks",
        "",
        f"Generated by `{r['command']}` (`make bench`{' ARGS=--quick' if r['quick'] else ''}) on "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {m['commit']}, in "
        f"{r['wall_s'] / 60:.1f} minutes. Do not edit by hand.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, Python {m['python']}; load average "
        f"at start {', '.join(f'{x:.1f}' for x in m['load_average'])} (a shared machine: absolute numbers are "
        "noisy, so every section runs its baseline in the same run and quotes ratios). Default embedder: "
        f"`{r['default_backend']}`. Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
    ]
    if r["quick"]:
        out += ["**Quick run** (CI-sized: 500 SciFact abstracts, 200 requests per level, 50k vectors).", ""]
    out += ["## Targets", "", *_targets(r)]
    if r.get("serving"):
        out += _serving(r["serving"])
    if r.get("indexing"):
        out += _indexing(r["indexing"])
    if r.get("backends"):
        out += _backends(r)
    if r.get("scale"):
        out += _scale(r["scale"])
    if r.get("startup"):
        out += _startup(r)
    for s in r["skipped"]:
        out += [f"Skipped: {s}.", ""]
    return "\n".join(out).rstrip() + "\n"
