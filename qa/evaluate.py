"""`qa eval` on the project's gold set (tests/gold/questions.jsonl): retrieval, answer and abstention quality.

A passage is relevant when it comes from the gold document and contains the evidence phrase (whitespace
collapsed). The answer sentence hits when it lies in the gold document and covers at least half of the
evidence phrase's span. Abstention is right when citeqa answers exactly the answerable questions. A typed
question may list the answer phrases it accepts (`"span": ["$62 million"]`): the answer's phrase must equal one
(whitespace collapsed, case and surrounding quotes/backticks ignored).

Every gold set splits in two by the number ending the id: odd -> "dev" (tune), even -> "test" (report only).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.answer import Answer
from qa.engine import Engine
from qa.metrics import hit_at_k, mean, mrr_at_k, ndcg_at_k

DEFAULT_GOLD = Path("tests/gold/questions.jsonl")


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    doc_id: str | None
    evidence: str | None
    history: tuple[str, ...] = ()
    spans: tuple[str, ...] = ()  # accepted answer phrases, for typed questions

    @property
    def answerable(self) -> bool:
        return self.doc_id is not None

    @property
    def split(self) -> str:
        return split_of(self.id)


def split_of(qid: str) -> str:
    """ "a07" -> "dev", "u12" -> "test": the parity of the trailing number (a stable hash without one)."""
    m = re.search(r"(\d+)$", qid)
    n = int(m.group(1)) if m else int(hashlib.sha256(qid.encode()).hexdigest(), 16)
    return "dev" if n % 2 == 1 else "test"


@dataclass
class GoldResult:
    q: GoldQuestion
    ranked: list[str]
    answered: bool
    answer_hit: bool
    answer_text: str | None
    confidence: float
    rank: int | None = None
    features: dict[str, float] = field(default_factory=dict)  # what the confidence model read (bench/calibrate.py)
    span_text: str | None = None
    span_hit: bool | None = None  # None: the question lists no accepted phrase


def load_gold(path: str | Path = DEFAULT_GOLD) -> list[GoldQuestion]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            spans = r.get("span") or ()
            out.append(
                GoldQuestion(
                    r["id"],
                    r["question"],
                    r.get("doc_id"),
                    r.get("evidence"),
                    tuple(r.get("history") or ()),
                    (spans,) if isinstance(spans, str) else tuple(spans),
                )
            )
    return out


def evidence_span(text: str, evidence: str) -> tuple[int, int] | None:
    """Offsets of `evidence` in `text`, matching any run of whitespace for each space."""
    pattern = r"\s+".join(re.escape(w) for w in evidence.split())
    m = re.search(pattern, text)
    return (m.start(), m.end()) if m else None


def judge(q: GoldQuestion, result: Answer, doc_texts: dict[str, str]) -> GoldResult:
    span = (
        evidence_span(doc_texts[q.doc_id], q.evidence)
        if q.answerable and q.doc_id in doc_texts and q.evidence
        else None
    )
    ranked = []
    for p in result.passages:
        relevant = span is not None and p.doc_id == q.doc_id and p.start <= span[0] and span[1] <= p.end
        ranked.append("EVIDENCE" if relevant else f"{p.doc_id}:{p.start}")
    a = result.answer
    hit = False
    if a is not None and span is not None and a.doc_id == q.doc_id:
        overlap = min(a.end, span[1]) - max(a.start, span[0])
        hit = overlap >= 0.5 * (span[1] - span[0])
    rank = ranked.index("EVIDENCE") + 1 if "EVIDENCE" in ranked else None
    span_text = None
    if a is not None and a.span is not None:
        span_text = a.text[a.span[0] - a.start : a.span[1] - a.start]
    span_hit = None
    if q.spans:
        span_hit = hit and span_text is not None and _norm(span_text) in {_norm(x) for x in q.spans}
    return GoldResult(
        q,
        ranked,
        a is not None,
        hit,
        a.text if a else None,
        result.confidence,
        rank,
        dict(result.features),
        span_text,
        span_hit,
    )


def _norm(phrase: str) -> str:
    return " ".join(phrase.split()).strip("`'\"“”‘’ .,;:").lower()


def run_gold(engine: Engine, gold: list[GoldQuestion], k: int = 10) -> list[GoldResult]:
    """Any engine (FAISS or Milvus): document texts come through its public `list_documents`/`document`."""
    texts = {d["doc_id"]: engine.document(d["doc_id"]).text for d in engine.list_documents()}
    return [judge(q, engine.ask(q.question, top_k=k, history=list(q.history)), texts) for q in gold]


def summarize(results: list[GoldResult]) -> dict[str, Any]:
    single = [r for r in results if r.q.answerable and not r.q.history]
    follow = [r for r in results if r.q.answerable and r.q.history]
    unans = [r for r in results if not r.q.answerable]
    rel = {"EVIDENCE": 1.0}

    def block(rs: list[GoldResult]) -> dict[str, float]:
        return {
            "recall_at_1": mean([hit_at_k(r.ranked, rel, 1) for r in rs]),
            "recall_at_5": mean([hit_at_k(r.ranked, rel, 5) for r in rs]),
            "mrr_at_10": mean([mrr_at_k(r.ranked, rel, 10) for r in rs]),
            "ndcg_at_10": mean([ndcg_at_k(r.ranked, rel, 10) for r in rs]),
            "answer_hit_rate": mean([1.0 if r.answer_hit else 0.0 for r in rs]),
        }

    answerable = single + follow
    typed = [r for r in results if r.span_hit is not None]
    return {
        "questions": len(results),
        "answerable": len(single),
        "followups": len(follow),
        "unanswerable": len(unans),
        **block(single),
        "followup": block(follow) if follow else {},
        "abstention_accuracy": mean([1.0 if r.answered == r.q.answerable else 0.0 for r in results]),
        "unanswerable_abstained": mean([0.0 if r.answered else 1.0 for r in unans]),
        "answerable_answered": mean([1.0 if r.answered else 0.0 for r in answerable]),
        "typed": len(typed),
        "span_exact_match": mean([1.0 if r.span_hit else 0.0 for r in typed]),
    }


def summarize_splits(results: list[GoldResult]) -> dict[str, Any]:
    """{"all": summary, "dev": summary of the dev half, "test": summary of the test half}."""
    return {
        "all": summarize(results),
        **{h: summarize([r for r in results if r.q.split == h]) for h in ("dev", "test")},
    }


def typos_path(gold: str | Path) -> Path | None:
    """tests/gold2/questions.jsonl -> tests/gold2/typos.jsonl when it exists (misspelled variants)."""
    p = Path(gold).with_name("typos.jsonl")
    return p if p.exists() and p != Path(gold) else None


def eval_report(
    engine: Engine, gold: list[GoldQuestion], typos: list[GoldQuestion] | None = None
) -> tuple[dict[str, Any], list[GoldResult]]:
    """The summary of every question (top level, as before), plus "dev" and "test" halves and, with misspelled
    variants, "typos": {"all", "dev", "test"} summaries of those and of the same questions spelled right."""
    results = run_gold(engine, gold)
    split = summarize_splits(results)
    report: dict[str, Any] = {**split["all"], "dev": split["dev"], "test": split["test"]}
    if typos:
        typo_results = summarize_splits(run_gold(engine, typos))
        ids = {q.id for q in typos}
        spelled = summarize_splits([r for r in results if r.q.id in ids])
        report["typos"] = {
            h: {**typo_results[h], "spelled_recall_at_5": spelled[h]["recall_at_5"]} for h in typo_results
        }
    return report, results
