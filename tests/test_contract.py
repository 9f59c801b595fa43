"""The answer JSON is described twice, by `Answer.to_dict()` (qa/answer.py) and by the pydantic models of the
HTTP contract (api/schemas.py), and shown once, by the documented example: these tests tie the three together,
so none can drift (a field added to one and not the others, or an example that is no longer true)."""

from __future__ import annotations

from typing import Any

import pytest

from api.schemas import AnswerOut, AnswerSentenceOut, ContextOut, PassageOut, PhraseOut, Span

_EXTRA: Any = AnswerOut.model_config["json_schema_extra"]
EXAMPLE: dict[str, Any] = _EXTRA["examples"][0]


def shape(value: Any) -> Any:
    """Keys all the way down, values left out, free-form maps (scores, timings) as one value:
    {"a": {"b": 1}, "c": [{"d": 2}]} -> {"a": {"b": None}, "c": [{"d": None}]}."""
    if isinstance(value, dict):
        return {k: None if k in ("scores", "timings_ms") else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return None


def test_the_example_shows_every_field_the_schema_declares_and_validates() -> None:
    assert set(EXAMPLE) == set(AnswerOut.model_fields)
    assert set(EXAMPLE["answer"]) == set(AnswerSentenceOut.model_fields)
    assert set(EXAMPLE["answer"]["span"]) == set(PhraseOut.model_fields)
    assert set(EXAMPLE["passages"][0]) == set(PassageOut.model_fields)
    assert set(EXAMPLE["passages"][0]["highlight"]) == set(Span.model_fields)
    assert set(EXAMPLE["context"]) == set(ContextOut.model_fields)
    AnswerOut.model_validate(EXAMPLE)


@pytest.mark.slow
def test_the_example_is_what_citeqa_answers(default_engine: Any) -> None:
    got = default_engine.ask(EXAMPLE["question"], top_k=len(EXAMPLE["passages"])).to_dict()
    assert shape(got) == shape(EXAMPLE)  # Answer.to_dict() emits exactly the fields the schema declares
    a, want = got["answer"], EXAMPLE["answer"]
    assert {k: a[k] for k in ("text", "doc_id", "title", "start", "end", "span", "page", "location", "ocr")} == {
        k: want[k] for k in ("text", "doc_id", "title", "start", "end", "span", "page", "location", "ocr")
    }
    assert a["score"] == pytest.approx(want["score"], abs=0.01)
    assert (got["answered"], got["confidence_label"], got["threshold"], got["spelling"]) == (
        EXAMPLE["answered"],
        EXAMPLE["confidence_label"],
        EXAMPLE["threshold"],
        EXAMPLE["spelling"],
    )
    assert got["confidence"] == pytest.approx(EXAMPLE["confidence"], abs=0.01)
    p, want_p = got["passages"][0], EXAMPLE["passages"][0]
    assert {k: p[k] for k in ("doc_id", "start", "end", "date", "highlight", "title")} == {
        k: want_p[k] for k in ("doc_id", "start", "end", "date", "highlight", "title")
    }
    assert p["text"].startswith(want_p["text"].removesuffix(" ..."))
    assert p["scores"] == pytest.approx(want_p["scores"], abs=0.01)
    assert set(got["timings_ms"]) == set(EXAMPLE["timings_ms"])
