"""Question -> ranked passages: dense and lexical candidates, fused, optionally reranked.

`retrieve(question, index, k, ...)` -> [Hit]. Modes (for ablations, `qa eval --mode`):
    dense    FAISS inner product on the question vector
    lexical  BM25 over the same chunks
    hybrid   both, fused by reciprocal rank (RRF)
    full     hybrid, then reranked by the best-matching sentence of each candidate passage
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from index.model import Index

MODES = ("dense", "lexical", "hybrid", "full")


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "full"
    candidates: int = 100  # per side, before fusion
    rrf_k: int = 60
    rerank_depth: int = 30  # fused candidates that the rerank stage rescores
    w_passage: float = 0.5  # rerank = w_passage * dense(passage) + w_sentence * max dense(sentence) + w_rrf * rrf
    w_sentence: float = 0.5
    w_rrf: float = 0.0


@dataclass(frozen=True)
class Hit:
    row: int  # chunk row in the index
    doc_id: str
    start: int
    end: int
    score: float  # the score of the last stage that ranked it
    scores: dict[str, float] = field(default_factory=dict)  # dense, lexical, fused, rerank


def _top(scores: np.ndarray, rows: np.ndarray, k: int) -> list[tuple[int, float]]:
    if not len(rows):
        return []
    sub = scores[rows]
    k = min(k, len(rows))
    part = np.argpartition(-sub, k - 1)[:k]
    part = part[np.argsort(-sub[part], kind="stable")]
    return [(int(rows[i]), float(sub[i])) for i in part]


def retrieve(
    question: str,
    index: Index,
    k: int,
    qvec: np.ndarray | None = None,
    doc_ids: list[str] | None = None,
    config: RetrievalConfig | None = None,
    timings: dict[str, float] | None = None,
    lexical_query: str | None = None,
) -> list[Hit]:
    """`qvec` is the question's unit vector (needed by every mode but lexical); `doc_ids` restricts the search;
    `lexical_query` overrides the BM25 query text (follow-up questions expand it)."""
    cfg = config or RetrievalConfig()
    if cfg.mode not in MODES:
        raise ValueError(f"unknown mode {cfg.mode!r}: one of {', '.join(MODES)}")
    rows = index.rows_of(doc_ids) if doc_ids is not None else None
    n = len(index.chunks)
    if n == 0 or (rows is not None and not len(rows)):
        return []
    t0 = time.perf_counter()
    dense: dict[int, float] = {}
    lexical: dict[int, float] = {}
    if cfg.mode != "lexical":
        assert qvec is not None, "dense retrieval needs the question vector"
        depth = k if cfg.mode == "dense" else cfg.candidates
        sc, ids = index.store.search(qvec, depth, rows)
        dense = {int(i): float(s) for s, i in zip(sc, ids)}
    if cfg.mode != "dense":
        all_rows = rows if rows is not None else np.arange(n, dtype=np.int64)
        bm = index.lexical.scores(lexical_query or question)
        depth = k if cfg.mode == "lexical" else cfg.candidates
        lexical = {r: s for r, s in _top(bm, all_rows, depth) if s > 0}
    t1 = time.perf_counter()

    if cfg.mode == "dense":
        ranked = [(r, s, {"dense": s}) for r, s in dense.items()]
    elif cfg.mode == "lexical":
        ranked = [(r, s, {"lexical": s}) for r, s in lexical.items()]
    else:
        fused: dict[int, float] = {}
        for table in (dense, lexical):
            for rank, r in enumerate(sorted(table, key=lambda x: -table[x])):
                fused[r] = fused.get(r, 0.0) + 1.0 / (cfg.rrf_k + rank + 1)
        ranked = []
        for r, f in sorted(fused.items(), key=lambda x: -x[1]):
            br = {"fused": f}
            if r in dense:
                br["dense"] = dense[r]
            if r in lexical:
                br["lexical"] = lexical[r]
            ranked.append((r, f, br))
    t2 = time.perf_counter()

    if cfg.mode == "full" and ranked:
        ranked = _rerank(ranked, index, qvec, cfg)
    t3 = time.perf_counter()
    if timings is not None:
        timings["search"] = (t1 - t0) * 1000
        timings["fuse"] = (t2 - t1) * 1000
        timings["rerank"] = (t3 - t2) * 1000
    hits = []
    for r, s, br in ranked[:k]:
        c = index.chunks[r]
        hits.append(Hit(r, c.doc_id, c.start, c.end, round(float(s), 6), {a: round(float(b), 6) for a, b in br.items()}))
    return hits


def _rerank(
    ranked: list[tuple[int, float, dict[str, float]]], index: Index, qvec: np.ndarray | None, cfg: RetrievalConfig
) -> list[tuple[int, float, dict[str, float]]]:
    assert qvec is not None
    head, tail = ranked[: cfg.rerank_depth], ranked[cfg.rerank_depth :]
    rows = np.array([r for r, _, _ in head], dtype=np.int64)
    passage = index.chunk_vectors[rows] @ qvec
    best_rrf = max(f for _, f, _ in head) or 1.0
    out = []
    for (r, f, br), p in zip(head, passage):
        c = index.chunks[r]
        sent = float(np.max(index.sentence_vectors[c.s0 : c.s1] @ qvec)) if c.s1 > c.s0 else float(p)
        score = cfg.w_passage * float(p) + cfg.w_sentence * sent + cfg.w_rrf * (f / best_rrf)
        out.append((r, score, {**br, "dense": float(p), "sentence": sent, "rerank": score}))
    out.sort(key=lambda x: -x[1])
    # Below the rerank depth, fused order is kept, under every reranked passage.
    floor = min((s for _, s, _ in out), default=0.0)
    return out + [(r, floor - 1e-6 * (i + 1), br) for i, (r, _, br) in enumerate(tail)]
