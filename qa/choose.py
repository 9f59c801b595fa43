"""Candidate sentences + question -> the answer: one sentence (or a pronoun-led sentence with its antecedent),
the answer phrase inside it, and the features that the confidence model reads.

    choose(question, qvec, [(passage_rank, SentenceRecord), ...], idf, cfg) -> Choice | None

score = cos(sentence, question) + w_coverage * coverage + w_rank / (1 + passage rank) + w_type * (phrase found)
where coverage is the idf-weighted share of the question's terms in the sentence; a sentence led by a pronoun
("She was succeeded by Luis Prieto.") or by a definite noun phrase the sentence before it names ("The plant was
built in 1987.") is read with the sentence before it, and quoted with it; a sentence that
answers a question asked just before it (an interview) counts half of the question's words. A sentence that is
itself a question, a heading or shorter than `min_words` never answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.lexical import terms
from index.store import SentenceRecord
from qa.qtype import QType, question_type
from qa.span import _SPEAKER, best_phrase, has_phrase

IdfFn = Callable[[Iterable[str]], dict[str, float]]
_ABSENT = "\u2205absent\u2205"
_PRONOUN = re.compile(r"^(?:he|she|it|they|this|that|these|those|his|her|its|their|it's|there)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")  # "4.0", "2019", "3,000": named in a question, they must be in the passage
_DEFINITE = re.compile(r"^(?:the|this|that|these|those|such)\s+((?:[\w'-]+\s+)?[\w'-]+)", re.IGNORECASE)


def _refers_back(body: str, prev_terms: set[str]) -> bool:
    """A sentence led by a pronoun ("She was succeeded by ..."), or by a definite noun phrase whose words the
    sentence before it names ("... the Cedar Hollow Treatment Plant. The plant was built in 1987.")."""
    if _PRONOUN.match(body):
        return True
    m = _DEFINITE.match(body)
    return m is not None and bool(set(terms(m.group(1))) & prev_terms)


@dataclass(frozen=True)
class ChooseConfig:
    min_words: int = 4
    w_coverage: float = 0.75
    w_rank: float = 0.1
    w_type: float = 0.8  # bonus when a typed question's phrase kind is in the sentence (dev halves: 0.15..1.0 tried)
    w_asked: float = 0.5  # share of the coverage gained from a question asked just before the sentence
    w_prev: float = 0.0  # share of the coverage gained from any other sentence just before it
    w_title: float = 1.0  # share of the coverage gained from the document's title (dev: 0, 0.25, 0.5, 1 tried)


@dataclass(frozen=True)
class Choice:
    doc_id: str
    start: int  # may cover the antecedent sentence too
    end: int
    passage_rank: int  # 0-based rank of the passage that holds the sentence
    score: float
    span: tuple[int, int] | None  # document offsets of the answer phrase
    qtype: QType
    features: dict[str, float] = field(default_factory=dict)


def _body(text: str) -> str:
    m = _SPEAKER.match(text)
    return text[m.end() :] if m else text


def is_question(text: str) -> bool:
    return text.rstrip().rstrip('"”’)').endswith("?")


def _coverage(weights: dict[str, float], text_terms: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in text_terms) / total if total else 0.0


def _header(by_ord: dict[tuple[str, int], SentenceRecord], s: SentenceRecord) -> str | None:
    """The first row of the table a table-row sentence belongs to, when it is among the candidates."""
    if not s.text.lstrip().startswith("|"):
        return None
    header, o = None, s.ord - 1
    while (prev := by_ord.get((s.doc_id, o))) is not None and prev.text.lstrip().startswith("|"):
        header, o = prev.text, o - 1
    return header


def choose(
    question: str,
    qvec: np.ndarray,
    candidates: Sequence[tuple[int, SentenceRecord]],
    idf: IdfFn,
    cfg: ChooseConfig | None = None,
    titles: Mapping[int, str] | None = None,
) -> Choice | None:
    """`titles`: passage rank -> its document's title, whose words count (w_title) as context of its sentences."""
    cfg = cfg or ChooseConfig()
    title_terms = {r: set(terms(t)) for r, t in (titles or {}).items()}
    qtype = question_type(question)
    qterms = set(terms(question, question=True))
    weights = idf(qterms | {_ABSENT})
    absent = weights.pop(_ABSENT)  # the idf of a term no chunk holds
    total = sum(weights.values())
    unseen = sum(w for w in weights.values() if w >= absent - 1e-9) / total if total else 0.0
    by_ord = {(s.doc_id, s.ord): s for _, s in candidates}
    best: Choice | None = None
    seen: set[tuple[str, int]] = set()
    typed_anywhere = False
    runner_up = float("-inf")  # the best score of another sentence, for the margin
    for rank, s in candidates:
        key = (s.doc_id, s.ord)
        if key in seen or s.heading or s.vector is None:
            continue
        seen.add(key)
        body = _body(s.text)
        if is_question(body) or len(s.text.split()) < cfg.min_words:
            continue
        own = set(terms(s.text))
        cov = _coverage(weights, own)
        start, end, eff = s.start, s.end, cov
        prev = by_ord.get((s.doc_id, s.ord - 1))
        header = _header(by_ord, s)
        if header is not None:  # a table row is read with its column headings
            eff = _coverage(weights, own | set(terms(header)))
        elif prev is not None and not prev.heading:
            ctx = _coverage(weights, own | set(terms(prev.text)))
            if is_question(_body(prev.text)):
                eff = cov + cfg.w_asked * (ctx - cov)
            elif ctx > cov and _refers_back(body, set(terms(prev.text))):
                start, eff = prev.start, ctx  # quoted with its antecedent: one verbatim run of two sentences
            else:
                eff = cov + cfg.w_prev * (ctx - cov)
        if cfg.w_title and rank in title_terms:
            eff += cfg.w_title * max(0.0, _coverage(weights, own | title_terms[rank]) - cov)
        phrase = best_phrase(s.text, qtype, qterms, header) if has_phrase(s.text, qtype) else None
        found = phrase is not None  # a phrase of the expected kind that is not just the question's own words
        typed_anywhere = typed_anywhere or found
        cos = float(s.vector @ qvec)
        score = cos + cfg.w_coverage * eff + cfg.w_rank / (1 + rank) + (cfg.w_type if found else 0.0)
        if best is not None and score <= best.score:
            runner_up = max(runner_up, score)
        if best is None or score > best.score:
            if best is not None:
                runner_up = max(runner_up, best.score)
            span = None if phrase is None else (s.start + phrase[0], s.start + phrase[1])
            best = Choice(
                s.doc_id,
                start,
                end,
                rank,
                score,
                span,
                qtype,
                {
                    "cos": cos,
                    "coverage": eff,
                    "typed": float(qtype.kind is not None),
                    "type_found": float(found),
                    "span": float(span is not None),
                },
            )
    if best is not None:
        best.features["typed_anywhere"] = float(typed_anywhere)
        passage = set().union(
            *(terms(s.text) for r, s in candidates if r == best.passage_rank and s.doc_id == best.doc_id)
        )
        best.features["passage_coverage"] = _coverage(weights, passage)  # of the passage that holds the answer
        held = " ".join(s.text for r, s in candidates if r == best.passage_rank and s.doc_id == best.doc_id)
        held += " " + (titles or {}).get(best.passage_rank, "")
        best.features["number_missing"] = float(
            any(not re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", held) for n in _NUMBER.findall(question))
        )
        best.features["top_passage"] = float(best.passage_rank == 0)  # retrieval and the answer step agree
        best.features["unseen"] = unseen  # idf share of the question's terms that no document holds
        best.features["margin"] = best.score - runner_up if runner_up > float("-inf") else 1.0
    return best
