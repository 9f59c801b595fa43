"""Ranking metrics as pure functions over a ranked list of ids and the relevant ids (with graded gains).

    ranked = ["d3", "d1", "d7"], relevant = {"d1": 1, "d9": 1}
    recall_at_k(ranked, relevant, 2) == 0.5     (d1 of {d1, d9})
    mrr_at_k(ranked, relevant, 10)  == 0.5      (first relevant at rank 2)
Duplicates in `ranked` count once, at their first position (a document hit by several chunks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _dedupe(ranked: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ranked))


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    rel = {d for d, g in relevant.items() if g > 0}
    if not rel:
        return 0.0
    return len(rel & set(_dedupe(ranked)[:k])) / len(rel)


def hit_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    return 1.0 if any(relevant.get(d, 0) > 0 for d in _dedupe(ranked)[:k]) else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    for i, d in enumerate(_dedupe(ranked)[:k], start=1):
        if relevant.get(d, 0) > 0:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    """Linear gains, log2 discount (trec_eval's ndcg_cut)."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 1) for i, d in enumerate(_dedupe(ranked)[:k], start=1))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
