"""Example questions come from the corpus's own headings (GET /v1/examples), never from a hard-coded list: fast tests
of the heading finder and of the route over a stand-in engine (no model)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig
from index.documents import Document
from qa.examples import heading_question, headings

REPORT = """Harlow Quarry Restoration Report

Water and Wildlife

The flooded lower basin now holds a lake of about 14 hectares, fed by spring water from the old workings.

Related Posts
Top 5 This Week

Visitor Access
A footpath of 3.5 kilometres circles the lake and joins the village green at the old weighbridge.

How do I book the boathouse?
Bookings are taken by the parish clerk on weekday mornings, by telephone or in person at the hall.
"""

WRAPPED = """The council met on Tuesday to discuss the footpath around the lake and the new
Parking Rules for Visitors
which were adopted after a long debate about the number of spaces near the old weighbridge.
"""


def test_headings_are_short_lines_that_lead_a_paragraph() -> None:
    assert list(headings(REPORT)) == ["Water and Wildlife", "Visitor Access", "How do I book the boathouse?"]
    assert list(headings(WRAPPED)) == []  # a capitalised line inside a hard-wrapped paragraph is not a heading
    assert heading_question("Visitor Access") == "What about Visitor Access?"
    assert heading_question("How do I book the boathouse?") == "How do I book the boathouse?"


class Stub:
    """The engine methods the route calls; answers every question except those about wildlife."""

    def __init__(self, docs: list[Document]) -> None:
        self.docs = {d.doc_id: d for d in docs}
        self.asked: list[str] = []

    def list_documents(self) -> list[dict[str, Any]]:
        return [{"doc_id": d.doc_id, "title": d.title, "characters": len(d.text)} for d in self.docs.values()]

    def page(self, offset: int = 0, limit: int = 100) -> tuple[int, list[dict[str, Any]]]:
        docs = self.list_documents()
        return len(docs), docs[offset : offset + limit]

    def document(self, doc_id: str) -> Document:
        return self.docs[doc_id]

    def ask(
        self, question: str, top_k: int = 5, doc_ids: list[str] | None = None, history: list[str] | None = None
    ) -> Any:
        self.asked.append(question)
        answered = "Wildlife" not in question

        class Result:
            def to_dict(self) -> dict[str, Any]:
                return {"answered": answered}

        return Result()

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "documents": len(self.docs), "chunks": 1}


def test_examples_route_offers_answered_heading_questions_once_per_corpus() -> None:
    engine = Stub(
        [Document("harlow", "Harlow report", REPORT, "harlow.txt"), Document("notes", "Notes", WRAPPED, "notes.txt")]
    )
    with TestClient(create_app(engine, ApiConfig())) as client:  # type: ignore[arg-type]
        body = client.get("/v1/examples").json()
        assert body == {
            "examples": [
                {"question": "What about Visitor Access?", "doc_id": "harlow", "heading": "Visitor Access"},
                {
                    "question": "How do I book the boathouse?",
                    "doc_id": "harlow",
                    "heading": "How do I book the boathouse?",
                },
            ]
        }  # "Water and Wildlife" comes first but is not answered
        asked = len(engine.asked)
        assert client.get("/v1/examples").json() == body  # worked out once for this set of documents
        assert len(engine.asked) == asked
        engine.docs = {"notes": engine.docs["notes"]}  # a corpus without headings: no examples, none invented
        assert client.get("/v1/examples").json() == {"examples": []}
