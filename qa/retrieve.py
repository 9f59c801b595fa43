"""Question -> ranked passages: dense and lexical candidates, fused, optionally reranked.

`retrieve(question, index, k, ...)` -> [Hit]. Modes (for ablations, `qa eval --mode`):
    dense    FAISS inner product on the question vector
    lexical  BM25 over the same chunks (title + passage)
    hybrid   the union of both candidate lists, each candidate scored on both sides, fused
             (a min-max normalised blend by default, or reciprocal rank fusion: `fusion="rrf"`)
    full     hybrid, then the top `rerank_depth` fused candidates reranked by fusing a third ranking,
             the best-matching sentence of each passage (precomputed sentence vectors, max similarity)

Every candidate carries its per-stage scores, e.g.
    {"dense": 0.61, "lexical": 7.9, "fused": 0.0325, "sentence": 0.66, "rerank": 0.0488}
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from index.model import Index

MODES = ("dense", "lexical", "hybrid", "full")
FUSIONS = ("rrf", "blend")


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "full"
    candidates: int = 100  # per side, before fusion
    # Chosen on SciFact's dev half (odd query ids) and the gold set; see docs/QUALITY.md.
    fusion: str = "blend"  # blend | rrf (blend: SciFact dev nDCG@10 0.750 vs 0.733 for RRF)
    rrf_k: int = 60
    w_dense: float = 0.5  # blend only: fused = w_dense * minmax(dense) + (1 - w_dense) * minmax(lexical)
    rerank_depth: int = 30  # fused candidates that the rerank stage rescores
    # rerank = fused + w_sentence * minmax(best sentence) (blend), or + w_sentence * its RRF term (rrf)
    w_sentence: float = 0.2
    prf_depth: int = 0  # dense pseudo-relevance feedback: Rocchio on the top fused passages (0 = off)
    prf_weight: float = 0.5


@dataclass(frozen=True)
class Hit:
    row: int  # chunk row in the index
    doc_id: str
    start: int
    end: int
    score: float  # the score of the last stage that ranked it
    scores: dict[str, float] = field(default_factory=dict)  # dense, lexical, fused, sentence, rerank


def _top(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the k best `rows` by `scores[row]`, best first."""
    if not len(rows) or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    sub = scores[rows]
    k = min(k, len(rows))
    part = np.argpartition(-sub, k - 1)[:k]
    part = part[np.argsort(-sub[part], kind="stable")]
    return rows[part], sub[part]


def _ranks(values: np.ndarray) -> np.ndarray:
    """0-based rank of each value, best (highest) first; ties keep input order."""
    order = np.argsort(-values, kind="stable")
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.arange(len(values))
    return out


def _minmax(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)


def sentence_maxsim(index: Index, rows: np.ndarray, qvec: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Best sentence similarity of each chunk row; `fallback` (its passage score) where it has no sentences."""
    out = fallback.astype(np.float32).copy()
    for i, r in enumerate(rows):
        c = index.chunks[int(r)]
        if c.s1 > c.s0:
            out[i] = float(np.max(index.sentence_vectors[c.s0 : c.s1] @ qvec))
    return out


def retrieve(
    question: str,
    index: Index,
    k: int,
    qvec: np.ndarray | None = None,
    doc_ids: list[str] | None = None,
    config: RetrievalConfig | None = None,
    timings: dict[str, float] | None = None,
) -> list[Hit]:
    """`qvec` is the question's unit vector (needed by every mode but lexical); `doc_ids` restricts the search."""
    cfg = config or RetrievalConfig()
    if cfg.mode not in MODES:
        raise ValueError(f"unknown mode {cfg.mode!r}: one of {', '.join(MODES)}")
    if cfg.fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {cfg.fusion!r}: one of {', '.join(FUSIONS)}")
    n = len(index.chunks)
    rows = index.rows_of(doc_ids) if doc_ids is not None else None
    if n == 0 or (rows is not None and not len(rows)):
        return []
    t0 = time.perf_counter()
    if cfg.mode == "dense":
        assert qvec is not None, "dense retrieval needs the question vector"
        sc, ids = index.store.search(qvec, k, rows)
        out = [(int(r), float(s), {"dense": float(s)}) for s, r in zip(sc, ids)]
        _timed(timings, t0, t0, t0)
        return _hits(index, out, k)
    all_rows = rows if rows is not None else np.arange(n, dtype=np.int64)
    bm = index.lexical.scores(question)
    if cfg.mode == "lexical":
        top_rows, top_sc = _top(bm, all_rows, k)
        out = [(int(r), float(s), {"lexical": float(s)}) for r, s in zip(top_rows, top_sc) if s > 0]
        _timed(timings, t0, time.perf_counter(), time.perf_counter())
        return _hits(index, out, k)

    assert qvec is not None, "hybrid retrieval needs the question vector"
    lex_rows, lex_sc = _top(bm, all_rows, cfg.candidates)
    lex_rows = lex_rows[lex_sc > 0]
    _, dense_ids = index.store.search(qvec, cfg.candidates, rows)
    cand = np.unique(np.concatenate([lex_rows, np.asarray(dense_ids, dtype=np.int64)]))
    dense = index.chunk_vectors[cand] @ qvec  # every candidate scored on both sides
    lexical = bm[cand]
    t1 = time.perf_counter()
    fused = _fuse(dense, lexical, cfg)
    if cfg.prf_depth > 0:  # Rocchio: move the question vector towards the top fused passages, rescore dense
        top = cand[np.argsort(-fused, kind="stable")[: cfg.prf_depth]]
        q2 = qvec + cfg.prf_weight * index.chunk_vectors[top].mean(axis=0)
        q2 = q2 / (np.linalg.norm(q2) or 1.0)
        _, more = index.store.search(q2, cfg.candidates, rows)
        cand = np.unique(np.concatenate([cand, np.asarray(more, dtype=np.int64)]))
        dense, lexical = index.chunk_vectors[cand] @ q2, bm[cand]
        fused = _fuse(dense, lexical, cfg)
    order = np.argsort(-fused, kind="stable")
    cand, dense, lexical, fused = cand[order], dense[order], lexical[order], fused[order]
    t2 = time.perf_counter()
    out = [
        (int(r), float(f), {"dense": float(d), "lexical": float(lx), "fused": float(f)})
        for r, d, lx, f in zip(cand, dense, lexical, fused)
    ]
    if cfg.mode == "full" and cfg.rerank_depth > 0:
        out = _rerank(out, index, qvec, cfg)
    _timed(timings, t0, t1, t2)
    return _hits(index, out, k)


def _fuse(dense: np.ndarray, lexical: np.ndarray, cfg: RetrievalConfig) -> np.ndarray:
    if cfg.fusion == "blend":
        return cfg.w_dense * _minmax(dense) + (1 - cfg.w_dense) * _minmax(lexical)
    lex = np.where(lexical > 0, 1.0 / (cfg.rrf_k + 1 + _ranks(lexical)), 0.0)  # no term in common: no vote
    return 1.0 / (cfg.rrf_k + 1 + _ranks(dense)) + lex


Ranked = list[tuple[int, float, dict[str, float]]]


def _rerank(ranked: Ranked, index: Index, qvec: np.ndarray, cfg: RetrievalConfig) -> Ranked:
    """The head gains a third ranking, by best sentence; below the head, fused order is kept under it."""
    head, tail = ranked[: cfg.rerank_depth], ranked[cfg.rerank_depth :]
    rows = np.array([r for r, _, _ in head], dtype=np.int64)
    passage = np.array([br["dense"] for _, _, br in head], dtype=np.float32)
    sent = sentence_maxsim(index, rows, qvec, passage)
    fused = np.array([f for _, f, _ in head], dtype=np.float32)
    if cfg.fusion == "blend":
        score = fused + cfg.w_sentence * _minmax(sent)
    else:
        score = fused + cfg.w_sentence / (cfg.rrf_k + 1 + _ranks(sent))
    out = [(r, float(s), {**br, "sentence": float(se), "rerank": float(s)})
           for (r, _, br), s, se in zip(head, score, sent)]
    out.sort(key=lambda x: -x[1])
    floor = min((s for _, s, _ in out), default=0.0)
    return out + [(r, floor - 1e-6 * (i + 1), br) for i, (r, _, br) in enumerate(tail)]


def _timed(timings: dict[str, float] | None, t0: float, t1: float, t2: float) -> None:
    if timings is not None:
        t3 = time.perf_counter()
        timings["search"] = (t1 - t0) * 1000
        timings["fuse"] = (t2 - t1) * 1000
        timings["rerank"] = (t3 - t2) * 1000


def _hits(index: Index, ranked: Ranked, k: int) -> list[Hit]:
    out = []
    for r, s, br in ranked[:k]:
        c = index.chunks[r]
        out.append(Hit(r, c.doc_id, c.start, c.end, round(float(s), 6), {a: round(float(b), 6) for a, b in br.items()}))
    return out
