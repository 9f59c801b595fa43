"""Quality floors on the TEST halves (even ids) of both gold sets, with the real model: tests/gold (the default
corpus, 71 questions) and tests/gold2 (five documents of other kinds: a PDF report, an interview transcript, a
README with lists and a version table, a news page, a speech; 89 questions). Nothing here was tuned: weights and
the confidence model were fitted on the dev halves (odd ids; bench/calibrate.py).

Floors sit one or two questions below what the test halves measured when they were set (docs/QUALITY.md; two
runs of bench/answer_quality.py gave the same figures), never lowered:
    gold  test: Recall@1 0.739 (17/23), Recall@5 0.957 (22/23), MRR@10 0.808, answer hit 0.652 (15/23),
                unanswerable abstained 1.0 (5/5), answerable answered 0.897 (26/29), misspelled Recall@5 0.913
    gold2 test: Recall@1 0.968 (30/31), Recall@5 1.0, answer hit 0.871 (27/31), span exact match 0.889 (24/27
                typed), unanswerable abstained 0.667 (8/12), answerable answered 0.968 (30/31), misspelled Recall@5 1.0
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from qa.evaluate import eval_report, load_gold, run_gold, summarize

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gold(default_engine) -> dict:
    return eval_report(
        default_engine, load_gold(ROOT / "tests/gold/questions.jsonl"), load_gold(ROOT / "tests/gold/typos.jsonl")
    )[0]


@pytest.fixture(scope="module")
def gold2(gold2_engine) -> dict:
    return eval_report(
        gold2_engine, load_gold(ROOT / "tests/gold2/questions.jsonl"), load_gold(ROOT / "tests/gold2/typos.jsonl")
    )[0]


def test_the_evidence_passage_is_in_the_top_five(gold: dict, gold2: dict) -> None:
    assert gold["test"]["recall_at_5"] >= 0.91
    assert gold["test"]["mrr_at_10"] >= 0.74
    assert gold["test"]["recall_at_1"] >= 0.65
    assert gold2["test"]["recall_at_5"] >= 0.96
    assert gold2["test"]["recall_at_1"] >= 0.9


def test_the_answer_sentence_covers_the_evidence(gold: dict, gold2: dict) -> None:
    assert gold["test"]["answer_hit_rate"] >= 0.56
    assert gold2["test"]["answer_hit_rate"] >= 0.8


def test_typed_questions_get_the_exact_phrase(gold2: dict) -> None:
    assert gold2["test"]["typed"] >= 20
    assert gold2["test"]["span_exact_match"] >= 0.81


def test_abstention_separates_answerable_from_unanswerable(gold: dict, gold2: dict) -> None:
    assert gold["test"]["unanswerable_abstained"] >= 0.8
    assert gold["test"]["answerable_answered"] >= 0.82
    assert gold2["test"]["unanswerable_abstained"] >= 0.58
    assert gold2["test"]["answerable_answered"] >= 0.93


def test_misspelled_questions_find_their_passage(gold: dict, gold2: dict) -> None:
    assert gold["typos"]["test"]["recall_at_5"] >= 0.86
    assert gold2["typos"]["test"]["recall_at_5"] >= 0.96


def test_follow_ups_find_their_passage(gold: dict) -> None:
    assert gold["followup"]["recall_at_5"] >= 0.84  # 13 follow-ups: 12 found (onnx-int8), 13 (torch)


def test_the_full_pipeline_is_not_worse_than_dense_only(default_engine, gold: dict) -> None:
    dense = dataclasses.replace(default_engine, retrieval=dataclasses.replace(default_engine.retrieval, mode="dense"))
    d = summarize(run_gold(dense, load_gold(ROOT / "tests/gold/questions.jsonl")))
    assert gold["recall_at_5"] >= d["recall_at_5"]
    assert gold["mrr_at_10"] >= d["mrr_at_10"] - 0.02


def test_an_answer_is_cited_first_with_its_passage(gold2_engine) -> None:
    """When citeqa answers, the first passage listed is the one holding the answer sentence (highlighted), even
    when retrieval ranked it lower; the other passages keep their order."""
    moved = 0
    for q in load_gold(ROOT / "tests/gold2/questions.jsonl"):
        if q.split != "dev" or not q.answerable:
            continue
        a = gold2_engine.ask(q.question)
        if a.answer is None:
            continue
        assert [p.rank for p in a.passages] == list(range(1, len(a.passages) + 1))
        first = a.passages[0]
        assert first.doc_id == a.answer.doc_id and first.highlight == (a.answer.start, a.answer.end)
        assert first.start <= a.answer.start and a.answer.end <= first.end
        moved += a.answer.passage_rank > 1
    assert moved >= 1  # some answers came from a passage that retrieval ranked second or lower
