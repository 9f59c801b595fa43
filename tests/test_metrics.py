"""Each ranking metric on small cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from qa.metrics import hit_at_k, mean, mrr_at_k, ndcg_at_k, recall_at_k

RANKED = ["d3", "d1", "d7", "d9"]
REL = {"d1": 1, "d9": 1, "d5": 1}  # d5 is never retrieved


def test_recall_counts_relevant_documents_found_within_k() -> None:
    assert recall_at_k(RANKED, REL, 1) == 0.0
    assert recall_at_k(RANKED, REL, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, REL, 4) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, {}, 4) == 0.0
    assert recall_at_k(RANKED, {"d1": 0}, 4) == 0.0  # a zero grade is judged not relevant


def test_hit_is_one_when_any_relevant_document_is_within_k() -> None:
    assert hit_at_k(RANKED, REL, 1) == 0.0
    assert hit_at_k(RANKED, REL, 2) == 1.0


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_document() -> None:
    assert mrr_at_k(RANKED, REL, 10) == 0.5
    assert mrr_at_k(RANKED, REL, 1) == 0.0
    assert mrr_at_k(["d9", "d1"], REL, 10) == 1.0
    assert mrr_at_k(["x", "y", "d5"], REL, 3) == pytest.approx(1 / 3)


def test_ndcg_binary_gains() -> None:
    # DCG = 1/log2(3) + 1/log2(5) (d1 at rank 2, d9 at rank 4); ideal has 3 relevant: 1 + 1/log2(3) + 1/2
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at_k(RANKED, REL, 10) == pytest.approx(dcg / idcg)
    # cut at 2: only d1 counts; ideal at 2 is 1 + 1/log2(3)
    assert ndcg_at_k(RANKED, REL, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["d1", "d9", "d5"], REL, 10) == pytest.approx(1.0)
    assert ndcg_at_k(RANKED, {}, 10) == 0.0


def test_ndcg_graded_gains_are_linear() -> None:
    rel = {"a": 2, "b": 1}
    # ranked b, a: DCG = 1 + 2/log2(3); ideal a, b: 2 + 1/log2(3)
    assert ndcg_at_k(["b", "a"], rel, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_duplicates_count_once_at_their_first_position() -> None:
    # two chunks of d3 ahead of d1: d1 is the document at rank 2, not 3
    assert mrr_at_k(["d3", "d3", "d1"], REL, 10) == 0.5
    assert recall_at_k(["d3", "d3", "d1"], REL, 2) == pytest.approx(1 / 3)


def test_mean_of_nothing_is_zero() -> None:
    assert mean([]) == 0.0
    assert mean([1.0, 0.0, 0.5]) == 0.5
