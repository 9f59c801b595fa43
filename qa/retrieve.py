"""Question -> ranked passages: dense and lexical candidates, fused, optionally reranked.

`retrieve(question, store, k, ...)` -> [Hit], reading only through the Store (index/store.py): one
`store.candidates` call (both sides scored), then `store.sentences` of the rerank head. Modes (for ablations,
`qa eval --mode`):
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from index.lexical import terms
from index.store import Candidate, ChunkRecord, SentenceRecord, Store

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
    row: int  # the chunk id in the store
    doc_id: str
    start: int
    end: int
    score: float  # the score of the last stage that ranked it
    scores: dict[str, float] = field(default_factory=dict)  # dense, lexical, fused, sentence, rerank
    chunk: ChunkRecord | None = None  # text, title, metadata, vector
    sentences: tuple[SentenceRecord, ...] | None = None  # in document order; set on the rerank head


def _ranks(values: np.ndarray) -> np.ndarray:
    """0-based rank of each value, best (highest) first; ties keep input order."""
    order = np.argsort(-values, kind="stable")
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.arange(len(values))
    return out


def _minmax(values: np.ndarray) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    return (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)


def sentence_maxsim(sentences: list[SentenceRecord], qvec: np.ndarray, fallback: float) -> float:
    """Best sentence similarity of a chunk; `fallback` (its passage score) when it has no sentences."""
    vecs = [s.vector for s in sentences if s.vector is not None]
    return float(np.max(np.vstack(vecs) @ qvec)) if vecs else float(fallback)


# (candidate, score, per-stage scores, sentences or None)
Ranked = list[tuple[Candidate, float, dict[str, float], tuple[SentenceRecord, ...] | None]]


class _Clock:
    """Times the stages of one call into `timings` (milliseconds), e.g. {"search": 3.1, "fuse": 0.2, "rerank": 1.9};
    a stage that did not run has no entry."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                self.timings[stage] = (time.perf_counter() - t0) * 1000


def retrieve(
    question: str,
    store: Store,
    k: int,
    qvec: np.ndarray | None = None,
    doc_ids: list[str] | None = None,
    config: RetrievalConfig | None = None,
    timings: dict[str, float] | None = None,
) -> list[Hit]:
    """`qvec` is the question's unit vector (needed by every mode but lexical); `doc_ids` restricts the search.
    Stages: search (store.candidates) -> fuse (hybrid, full) -> rerank (full), each timed into `timings`."""
    cfg = config or RetrievalConfig()
    if cfg.mode not in MODES:
        raise ValueError(f"unknown mode {cfg.mode!r}: one of {', '.join(MODES)}")
    if cfg.fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {cfg.fusion!r}: one of {', '.join(FUSIONS)}")
    if doc_ids is not None and not doc_ids:
        return []
    clock = _Clock(timings)
    if cfg.mode == "dense":
        assert qvec is not None, "dense retrieval needs the question vector"
        with clock("search"):
            return _hits(_dense_only(store, qvec, k, doc_ids), k)
    if cfg.mode == "lexical":
        with clock("search"):
            return _hits(_lexical_only(store, terms(question), k, doc_ids), k)
    assert qvec is not None, "hybrid retrieval needs the question vector"
    with clock("search"):
        q_terms = terms(question)
        cands = store.candidates(qvec, q_terms, cfg.candidates, doc_ids)  # every candidate scored on both sides
    if not cands:
        return []
    with clock("fuse"):
        ranked = _fused(cands, store, qvec, q_terms, doc_ids, cfg)
    if cfg.mode == "full" and cfg.rerank_depth > 0:
        with clock("rerank"):
            ranked = _rerank(ranked, store, qvec, cfg)
    return _hits(ranked, k)


def _dense_only(store: Store, qvec: np.ndarray, k: int, doc_ids: list[str] | None) -> Ranked:
    cands = sorted(store.candidates(qvec, [], k, doc_ids), key=lambda c: -c.dense)
    return [(c, c.dense, {"dense": c.dense}, None) for c in cands]


def _lexical_only(store: Store, q_terms: list[str], k: int, doc_ids: list[str] | None) -> Ranked:
    cands = sorted((c for c in store.candidates(None, q_terms, k, doc_ids) if c.lexical > 0), key=lambda c: -c.lexical)
    return [(c, c.lexical, {"lexical": c.lexical}, None) for c in cands]


def _fused(
    cands: list[Candidate],
    store: Store,
    qvec: np.ndarray,
    q_terms: list[str],
    doc_ids: list[str] | None,
    cfg: RetrievalConfig,
) -> Ranked:
    """Candidates in fused order, each with its dense, lexical and fused scores."""
    dense = np.array([c.dense for c in cands], dtype=np.float32)
    lexical = np.array([c.lexical for c in cands], dtype=np.float32)
    fused = _fuse(dense, lexical, cfg)
    if cfg.prf_depth > 0:  # Rocchio: move the question vector towards the top fused passages, rescore dense
        top = [cands[i] for i in np.argsort(-fused, kind="stable")[: cfg.prf_depth]]
        q2 = qvec + cfg.prf_weight * np.mean([c.chunk.vector for c in top], axis=0)
        q2 = q2 / (np.linalg.norm(q2) or 1.0)
        seen = {c.chunk.chunk_id for c in cands}
        cands = cands + [
            c for c in store.candidates(q2, q_terms, cfg.candidates, doc_ids) if c.chunk.chunk_id not in seen
        ]
        dense = np.array([float(c.chunk.vector @ q2) for c in cands], dtype=np.float32)
        lexical = np.array([c.lexical for c in cands], dtype=np.float32)
        fused = _fuse(dense, lexical, cfg)
    order = np.argsort(-fused, kind="stable")
    return [
        (
            cands[i],
            float(fused[i]),
            {"dense": float(dense[i]), "lexical": float(lexical[i]), "fused": float(fused[i])},
            None,
        )
        for i in order
    ]


def _fuse(dense: np.ndarray, lexical: np.ndarray, cfg: RetrievalConfig) -> np.ndarray:
    if cfg.fusion == "blend":
        return cfg.w_dense * _minmax(dense) + (1 - cfg.w_dense) * _minmax(lexical)
    lex = np.where(lexical > 0, 1.0 / (cfg.rrf_k + 1 + _ranks(lexical)), 0.0)  # no term in common: no vote
    return 1.0 / (cfg.rrf_k + 1 + _ranks(dense)) + lex


def _rerank(ranked: Ranked, store: Store, qvec: np.ndarray, cfg: RetrievalConfig) -> Ranked:
    """The head gains a third ranking, by best sentence; below the head, fused order is kept under it."""
    head, tail = ranked[: cfg.rerank_depth], ranked[cfg.rerank_depth :]
    sents = store.sentences([c.chunk.chunk_id for c, _, _, _ in head])
    sent = np.array(
        [sentence_maxsim(sents.get(c.chunk.chunk_id, []), qvec, br["dense"]) for c, _, br, _ in head], dtype=np.float32
    )
    fused = np.array([f for _, f, _, _ in head], dtype=np.float32)
    if cfg.fusion == "blend":
        score = fused + cfg.w_sentence * _minmax(sent)
    else:
        score = fused + cfg.w_sentence / (cfg.rrf_k + 1 + _ranks(sent))
    out: Ranked = [
        (c, float(s), {**br, "sentence": float(se), "rerank": float(s)}, tuple(sents.get(c.chunk.chunk_id, [])))
        for (c, _, br, _), s, se in zip(head, score, sent)
    ]
    out.sort(key=lambda x: -x[1])
    floor = min((s for _, s, _, _ in out), default=0.0)
    return out + [(c, floor - 1e-6 * (i + 1), br, None) for i, (c, _, br, _) in enumerate(tail)]


def _hits(ranked: Ranked, k: int) -> list[Hit]:
    out = []
    for c, s, br, sents in ranked[:k]:
        r = c.chunk
        out.append(
            Hit(
                r.chunk_id,
                r.doc_id,
                r.start,
                r.end,
                round(float(s), 6),
                {a: round(float(b), 6) for a, b in br.items()},
                r,
                sents,
            )
        )
    return out
