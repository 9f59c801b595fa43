"""Question -> Answer: ranked passages with citations, the single best answer sentence, or an abstention.

`answer(question, store, embedder, top_k)` -> Answer, reading only through the Store: the passages and the
head's sentences come with the hits (qa/retrieve.py), idf from `store.idf`, the corpus words for spelling from
`store.vocabulary()`. Misspelled question words are corrected first (qa/spelling.py); the answer sentence and
its phrase are chosen among the sentences of the top passages (qa/choose.py); `confidence` is the calibrated
probability that it is right (qa/confidence.py). Below the threshold, `answer` is None and the passages are
still returned, in retrieval order; above it, the passage that holds the answer comes first.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from index.embed import Embedder
from index.errors import BadQuestion
from index.store import SentenceRecord, Store
from qa import confidence as calibration
from qa.choose import Choice, ChooseConfig, choose
from qa.followup import Context, contextualize
from qa.locate import NOWHERE, places
from qa.retrieve import Hit, RetrievalConfig, retrieve
from qa.spelling import Spelling, correct

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50


@dataclass(frozen=True)
class AnswerConfig:
    depth: int = 5  # sentences of this many top passages compete for the answer
    choice: ChooseConfig = field(default_factory=ChooseConfig)
    # confidence (a calibrated probability, qa/confidence.json) below which citeqa abstains; None: the fitted one
    threshold: float | None = None
    spelling: bool = True  # correct misspelled question words against the corpus vocabulary


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    passage_rank: int
    span: tuple[int, int] | None = None  # the answer phrase, document offsets inside [start, end)


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
    places: dict[tuple[str, int, int], dict[str, Any]] = field(
        default_factory=dict
    )  # qa/locate.py: page, location, ocr
    spelling: Spelling | None = None
    features: dict[str, float] = field(default_factory=dict)  # what the confidence model read

    @property
    def confidence_label(self) -> str:
        return calibration.label(self.confidence, self.threshold)

    def to_dict(self) -> dict[str, Any]:
        a = self.answer
        span = None
        if a is not None and a.span is not None:
            span = {"text": a.text[a.span[0] - a.start : a.span[1] - a.start], "start": a.span[0], "end": a.span[1]}
        return {
            "question": self.question,
            "answer": None
            if a is None
            else {
                "text": a.text,
                "doc_id": a.doc_id,
                "title": a.title,
                "start": a.start,
                "end": a.end,
                "score": a.score,
                "span": span,
                **self.places.get((a.doc_id, a.start, a.end), NOWHERE),
            },
            "answered": a is not None,
            "confidence": round(self.confidence, 4),
            "confidence_label": self.confidence_label,
            "threshold": self.threshold,
            "spelling": None if self.spelling is None else self.spelling.to_dict(),
            "passages": [
                {
                    **{k: v for k, v in asdict(p).items() if k != "highlight"},
                    "highlight": None if p.highlight is None else {"start": p.highlight[0], "end": p.highlight[1]},
                    **self.places.get((p.doc_id, p.start, p.end), NOWHERE),
                }
                for p in self.passages
            ],
            "context": {
                "used": self.context.used,
                "query": self.context.query,
                "previous": self.context.previous,
                "carried": list(self.context.carried),
            },
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


def candidates(store: Store, hits: list[Hit]) -> list[tuple[int, SentenceRecord]]:
    """(passage rank, sentence) for every sentence of the given passages, in rank then document order."""
    missing = [h.row for h in hits if h.sentences is None]
    fetched = store.sentences(missing) if missing else {}
    return [
        (rank, s)
        for rank, h in enumerate(hits)
        for s in (h.sentences if h.sentences is not None else fetched.get(h.row, []))
    ]


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
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    spelling = correct(question, store.vocabulary()) if cfg.spelling else None
    ctx = contextualize(spelling.searched_for if spelling else question, history)
    timings["spelling"] = (time.perf_counter() - t0) * 1000
    qvec = embedder.embed_one(ctx.query) if embedder is not None else None
    timings["embed"] = (time.perf_counter() - t0) * 1000 - timings["spelling"]
    hits = retrieve(
        ctx.query, store, max(top_k, cfg.depth), qvec=qvec, doc_ids=doc_ids, config=retrieval, timings=timings
    )
    t1 = time.perf_counter()
    # The answer comes from a returned passage, so its citation always resolves in the response.
    shown = hits[: min(top_k, cfg.depth)]
    picked: Choice | None = None
    if qvec is not None:
        titles = {r: h.chunk.title for r, h in enumerate(shown) if h.chunk is not None}
        picked = choose(ctx.focus or ctx.query, qvec, candidates(store, shown), store.idf, cfg.choice, titles)
    features: dict[str, float] = {}
    confidence = 0.0
    if picked is not None:
        features = {**picked.features, "top_dense": float(hits[0].scores.get("dense", 0.0)) if hits else 0.0}
        confidence = calibration.probability(features)
    threshold = cfg.threshold if cfg.threshold is not None else calibration.threshold()
    sentence = None
    if picked is not None and confidence >= threshold:
        # The text comes from the passage that holds it: one sentence, or an antecedent and its sentence verbatim.
        holder = shown[picked.passage_rank].chunk
        assert holder is not None and holder.start <= picked.start and picked.end <= holder.end
        text = holder.text[picked.start - holder.start : picked.end - holder.start]
        sentence = AnswerSentence(
            text,
            picked.doc_id,
            holder.title,
            picked.start,
            picked.end,
            round(picked.score, 6),
            picked.passage_rank + 1,
            picked.span,
        )
    passages = []
    listed = hits[:top_k]
    if sentence is not None and picked is not None and picked.passage_rank > 0:
        # The passage that holds the answer is cited first; the others keep their retrieval order.
        listed = [listed[picked.passage_rank], *listed[: picked.passage_rank], *listed[picked.passage_rank + 1 :]]
    for rank, h in enumerate(listed, start=1):
        c = h.chunk
        assert c is not None
        hl = None
        if sentence and sentence.doc_id == h.doc_id and h.start <= sentence.start and sentence.end <= h.end:
            hl = (sentence.start, sentence.end)
        passages.append(
            Passage(
                rank, c.text, h.score, h.doc_id, c.title, h.start, h.end, dict(h.scores), c.metadata.get("date"), hl
            )
        )
    timings["answer"] = (time.perf_counter() - t1) * 1000
    timings["total"] = (time.perf_counter() - t0) * 1000
    spans = [(p.doc_id, p.start, p.end) for p in passages] + (
        [(sentence.doc_id, sentence.start, sentence.end)] if sentence else []
    )
    return Answer(
        question, sentence, passages, confidence, threshold, ctx, timings, places(store, spans), spelling, features
    )
