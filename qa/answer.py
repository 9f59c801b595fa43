"""Question -> Answer: ranked passages with citations, the single best answer sentence, or an abstention.

`answer(question, store, embedder, top_k)` -> Answer, reading only through the Store: the passages and the
head's sentences come with the hits (qa/retrieve.py); idf of the question's terms from `store.idf`.
The answer sentence is chosen among the sentences of
the top passages by its similarity to the question, how many of the question's key terms it contains, and
its passage's rank. When the best evidence is below the calibrated threshold, `answer` is None and the
passages are still returned.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from index.embed import Embedder
from index.errors import BadQuestion
from index.lexical import terms
from index.store import SentenceRecord, Store
from qa.followup import Context, contextualize
from qa.retrieve import Hit, RetrievalConfig, retrieve

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50


@dataclass(frozen=True)
class AnswerConfig:
    # Tuned on tests/gold (71 questions; see docs/QUALITY.md for how, and the overfitting caveat).
    depth: int = 5  # sentences of this many top passages compete for the answer
    w_coverage: float = 0.75  # weight of the idf-weighted share of question terms found in the sentence
    w_rank: float = 0.1  # bonus for the sentence's passage rank: w_rank / (1 + rank)
    min_words: int = 4
    threshold: float = 0.735  # confidence (the chosen sentence's score) below which citeqa abstains


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    passage_rank: int


@dataclass(frozen=True)
class Passage:
    rank: int
    text: str
    score: float
    doc_id: str
    title: str
    start: int
    end: int
    scores: dict[str, float]
    date: str | None = None
    highlight: tuple[int, int] | None = None  # answer sentence offsets inside the document, when in this passage


@dataclass(frozen=True)
class Answer:
    question: str
    answer: AnswerSentence | None
    passages: list[Passage]
    confidence: float
    threshold: float
    context: Context
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        a = self.answer
        return {
            "question": self.question,
            "answer": None
            if a is None
            else {"text": a.text, "doc_id": a.doc_id, "title": a.title, "start": a.start, "end": a.end, "score": a.score},
            "answered": a is not None,
            "confidence": round(self.confidence, 4),
            "threshold": self.threshold,
            "passages": [
                {
                    **{k: v for k, v in asdict(p).items() if k != "highlight"},
                    "highlight": None if p.highlight is None else {"start": p.highlight[0], "end": p.highlight[1]},
                }
                for p in self.passages
            ],
            "context": {"used": self.context.used, "query": self.context.query, "previous": self.context.previous,
                        "carried": list(self.context.carried)},
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


def validate(question: str, top_k: int) -> str:
    q = (question or "").strip()
    if not q:
        raise BadQuestion("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise BadQuestion(f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}")
    if not 1 <= top_k <= MAX_TOP_K:
        raise BadQuestion(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
    return q


def _coverage(weights: dict[str, float], text_terms: set[str]) -> float:
    """idf-weighted share of the question's terms present: {"quetzal": 5.0, "guatemala": 0.2} and a text with
    only "guatemala" -> 0.04."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in text_terms) / total if total else 0.0


def pick_sentence(
    store: Store, hits: list[Hit], qvec: np.ndarray, query: str, cfg: AnswerConfig
) -> tuple[SentenceRecord, int, float] | None:
    """(sentence, passage rank, score) of the best answer sentence, or None when there is no candidate.
    score = cosine(sentence, question) + w_coverage * coverage(sentence) + w_rank / (1 + passage rank)"""
    weights = store.idf(set(terms(query, question=True)))
    top = hits[: cfg.depth]
    missing = [h.row for h in top if h.sentences is None]
    fetched = store.sentences(missing) if missing else {}
    best: tuple[SentenceRecord, int, float] | None = None
    seen: set[tuple[str, int]] = set()
    for rank, hit in enumerate(top):
        for s in hit.sentences if hit.sentences is not None else fetched.get(hit.row, []):
            key = (s.doc_id, s.ord)
            if key in seen or s.heading or len(s.text.split()) < cfg.min_words or s.vector is None:
                continue
            seen.add(key)
            score = float(s.vector @ qvec) + cfg.w_coverage * _coverage(weights, set(terms(s.text)))
            score += cfg.w_rank / (1 + rank)
            if best is None or score > best[2]:
                best = (s, rank, score)
    return best


def answer(
    question: str,
    store: Store,
    embedder: Embedder | None,
    top_k: int = 5,
    doc_ids: list[str] | None = None,
    history: list[str] | None = None,
    retrieval: RetrievalConfig | None = None,
    config: AnswerConfig | None = None,
) -> Answer:
    cfg = config or AnswerConfig()
    question = validate(question, top_k)
    ctx = contextualize(question, history)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    qvec = embedder.embed_one(ctx.query) if embedder is not None else None
    timings["embed"] = (time.perf_counter() - t0) * 1000
    hits = retrieve(ctx.query, store, max(top_k, cfg.depth), qvec=qvec, doc_ids=doc_ids, config=retrieval, timings=timings)
    t1 = time.perf_counter()
    # The answer comes from a returned passage, so its citation always resolves in the response.
    shown = hits[: min(top_k, cfg.depth)]
    picked = pick_sentence(store, shown, qvec, ctx.focus or ctx.query, cfg) if qvec is not None else None
    confidence = picked[2] if picked else 0.0
    sentence = None
    if picked and confidence >= cfg.threshold:
        s, rank, score = picked
        title = next((h.chunk.title for h in shown if h.doc_id == s.doc_id and h.chunk is not None), "")
        sentence = AnswerSentence(s.text, s.doc_id, title, s.start, s.end, round(score, 6), rank + 1)
    passages = []
    for rank, h in enumerate(hits[:top_k], start=1):
        c = h.chunk
        assert c is not None
        hl = None
        if sentence and sentence.doc_id == h.doc_id and h.start <= sentence.start and sentence.end <= h.end:
            hl = (sentence.start, sentence.end)
        passages.append(
            Passage(rank, c.text, h.score, h.doc_id, c.title, h.start, h.end, dict(h.scores), c.metadata.get("date"), hl)
        )
    timings["answer"] = (time.perf_counter() - t1) * 1000
    timings["total"] = (time.perf_counter() - t0) * 1000
    return Answer(question, sentence, passages, confidence, cfg.threshold, ctx, timings)
