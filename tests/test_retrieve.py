"""Retrieval modes on a small corpus: what each stage ranks, the per-stage score breakdown, filters, ablation."""

from __future__ import annotations

import pytest

from index.build import chunking_manifest, prepare
from index.chunk import ChunkParams
from index.documents import Document
from index.local_store import LocalStore
from qa.retrieve import MODES, RetrievalConfig, retrieve

Index = LocalStore

DOCS = [
    Document(
        "coffee",
        "Coffee exports",
        "Guatemala exports coffee to the United States. Coffee farms cover the highlands. Prices for arabica beans rose in 2024.",
        "coffee.txt",
    ),
    Document(
        "ports",
        "Port expansion",
        "The Army Corps of Engineers will help plan two port expansions. Puerto "
        "Quetzal and Santo Tomas de Castilla are the two ports. Work starts next year.",
        "ports.txt",
    ),
    Document(
        "taiwan",
        "Relations with Taiwan",
        "Guatemala keeps diplomatic ties with Taiwan. China has pressed it to switch recognition. The president visited Taipei.",
        "taiwan.txt",
    ),
]


def make_store(root, embedder, docs) -> LocalStore:
    store = LocalStore.open(root, embedder.identity(), chunking_manifest(ChunkParams()), create=True)
    if docs:
        store.put(prepare(docs, embedder))
    return store


@pytest.fixture
def small(fake_embedder, tmp_path) -> Index:
    return make_store(tmp_path / "index", fake_embedder, DOCS)


def ask(index: Index, embedder, q: str, k: int = 5, **cfg) -> list:
    return retrieve(q, index, k, qvec=embedder.embed_one(q), config=RetrievalConfig(**cfg))


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_finds_the_passage_sharing_the_question_words(small: Index, fake_embedder, mode: str) -> None:
    hits = ask(small, fake_embedder, "Which two ports will the Army Corps of Engineers help expand?", mode=mode)
    assert hits and hits[0].doc_id == "ports"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_score_breakdown_names_the_stages_that_ran(small: Index, fake_embedder) -> None:
    q = "coffee exports to the United States"
    assert set(ask(small, fake_embedder, q, mode="dense")[0].scores) == {"dense"}
    assert set(ask(small, fake_embedder, q, mode="lexical")[0].scores) == {"lexical"}
    assert set(ask(small, fake_embedder, q, mode="hybrid")[0].scores) == {"dense", "lexical", "fused"}
    top = ask(small, fake_embedder, q, mode="full")[0]
    assert set(top.scores) == {"dense", "lexical", "fused", "sentence", "rerank"}
    assert top.score == top.scores["rerank"]
    # the sentence score is the cosine of the passage's best-matching sentence (vectors kept as float16)
    sents = small.sentences([top.row])[top.row]
    assert sents and [s.text for s in sents] == [s.text for s in top.sentences]
    assert all(s.text in top.chunk.text for s in sents)
    best = max(float(fake_embedder.embed_one(s.text) @ fake_embedder.embed_one(q)) for s in sents)
    assert top.scores["sentence"] == pytest.approx(best, abs=2e-3)


@pytest.mark.parametrize(
    "mode, stages",
    [
        ("dense", {"search"}),
        ("lexical", {"search"}),
        ("hybrid", {"search", "fuse"}),
        ("full", {"search", "fuse", "rerank"}),
    ],
)
def test_timings_name_the_stages_that_ran(small: Index, fake_embedder, mode: str, stages: set[str]) -> None:
    q = "coffee exports to the United States"
    timings: dict[str, float] = {}
    retrieve(q, small, 5, qvec=fake_embedder.embed_one(q), config=RetrievalConfig(mode=mode), timings=timings)
    assert set(timings) == stages
    assert all(ms >= 0 for ms in timings.values())


def test_hybrid_scores_every_candidate_on_both_sides(small: Index, fake_embedder) -> None:
    q = "Taipei recognition pressure"
    qv = fake_embedder.embed_one(q)
    bm = {h.row: h.score for h in retrieve(q, small, 100, config=RetrievalConfig(mode="lexical"))}  # BM25 alone
    hits = retrieve(q, small, 10, qvec=qv, config=RetrievalConfig(mode="hybrid"))
    assert any(h.row not in bm for h in hits)  # dense-only candidates are among them, with lexical 0
    for h in hits:
        assert h.chunk is not None
        passage = fake_embedder.embed_one(f"{h.chunk.title}. {h.chunk.text}")
        assert h.scores["dense"] == pytest.approx(float(passage @ qv), abs=1e-5)
        assert h.scores["lexical"] == pytest.approx(bm.get(h.row, 0.0), abs=1e-4)


def test_rrf_fused_score_is_the_sum_of_reciprocal_ranks(small: Index, fake_embedder) -> None:
    hits = ask(small, fake_embedder, "Guatemala coffee", k=10, mode="hybrid", fusion="rrf", rrf_k=60)
    dense_rank = {h.row: i for i, h in enumerate(sorted(hits, key=lambda h: -h.scores["dense"]))}
    lex_rank = {h.row: i for i, h in enumerate(sorted(hits, key=lambda h: -h.scores["lexical"]))}
    for h in hits:
        lex = 1 / (61 + lex_rank[h.row]) if h.scores["lexical"] > 0 else 0.0
        assert h.scores["fused"] == pytest.approx(1 / (61 + dense_rank[h.row]) + lex, abs=1e-6)


def test_blend_fusion_is_a_normalised_weighted_sum(small: Index, fake_embedder) -> None:
    hits = ask(small, fake_embedder, "Guatemala coffee", k=10, mode="hybrid", fusion="blend", w_dense=1.0)
    assert hits[0].scores["fused"] == pytest.approx(1.0)
    assert [h.row for h in hits] == [h.row for h in sorted(hits, key=lambda h: -h.scores["dense"])]


def test_a_document_filter_restricts_every_mode(small: Index, fake_embedder) -> None:
    for mode in MODES:
        hits = retrieve(
            "coffee exports",
            small,
            5,
            qvec=fake_embedder.embed_one("coffee exports"),
            doc_ids=["taiwan"],
            config=RetrievalConfig(mode=mode),
        )
        assert {h.doc_id for h in hits} <= {"taiwan"}
    assert retrieve("coffee", small, 5, qvec=fake_embedder.embed_one("coffee"), doc_ids=[]) == []


def test_lexical_mode_needs_no_vector_and_skips_passages_without_a_shared_term(small: Index) -> None:
    hits = retrieve("arabica", small, 5, qvec=None, config=RetrievalConfig(mode="lexical"))
    assert [h.doc_id for h in hits] == ["coffee"]


def test_pseudo_relevance_feedback_keeps_the_ranking_contract(small: Index, fake_embedder) -> None:
    hits = ask(small, fake_embedder, "two ports", k=10, mode="full", prf_depth=2)
    assert hits[0].doc_id == "ports"
    assert len({h.row for h in hits}) == len(hits)


def test_unknown_mode_or_fusion_is_refused(small: Index, fake_embedder) -> None:
    with pytest.raises(ValueError):
        ask(small, fake_embedder, "coffee", mode="magic")
    with pytest.raises(ValueError):
        ask(small, fake_embedder, "coffee", fusion="max")


def test_empty_index_returns_nothing(fake_embedder, tmp_path) -> None:
    index = make_store(tmp_path / "empty", fake_embedder, [])
    assert retrieve("coffee", index, 5, qvec=fake_embedder.embed_one("coffee")) == []
