"""Pydantic models of the HTTP contract (the only place pydantic is used). Response models allow extra
fields, so a field the core adds to `Answer.to_dict()` or `Engine.health()` passes through unchanged.

    POST /v1/ask              AskRequest -> AnswerOut (exactly Answer.to_dict())
    GET  /v1/examples         -> ExamplesOut {"examples": [{"question", "doc_id", "heading"}, ...]}
    GET  /v1/documents        -> DocumentList {"count": 5, "documents": [DocumentSummary, ...]}
    GET  /v1/documents/{id}   -> DocumentOut (with the full text that every offset indexes, type and pages)
    GET  /v1/documents/{id}/file -> the original file, with its media type
    POST /v1/documents        multipart file (+ title) -> 201 UploadOut
    DELETE /v1/documents/{id} -> DeleteOut
    GET  /health              -> HealthOut
    any error                 -> ErrorOut {"detail": "one line for the user", ...}
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from qa.answer import MAX_QUESTION_CHARS, MAX_TOP_K  # one definition: the core enforces them too

Question = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=r"\S",
        description=f"The question; not empty or only whitespace, at most {MAX_QUESTION_CHARS:,} characters.",
    ),
]


class AskRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"question": "When did Rubio meet Arévalo?", "top_k": 5},
                {
                    "question": "What did they agree on migration?",
                    "top_k": 3,
                    "history": ["When did Rubio meet Arévalo?"],
                },
                {"question": "What is the strategy's first pillar?", "doc_ids": ["us-strategy-for-central-america"]},
            ]
        }
    )

    question: Question
    top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K, description=f"How many passages to return (1-{MAX_TOP_K}).")] = 5
    doc_ids: Annotated[
        list[Annotated[str, Field(max_length=300)]] | None,
        Field(
            max_length=500,
            description="Only search these documents; null or [] searches all. An unknown id answers 404.",
        ),
    ] = None
    history: Annotated[
        list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]] | None,
        Field(
            max_length=100,
            description="Earlier questions of the conversation, oldest first; the last 10 are "
            "used to read a follow-up such as 'When was it signed?'.",
        ),
    ] = None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PlaceFields(_Open):
    """Where a cited span lies in a paged document (qa/locate.py); null and false elsewhere."""

    page: int | None = Field(None, description="1-based PDF page (or slide number) where the span starts.")
    page_end: int | None = Field(None, description="The page where it ends, when it spans pages.")
    location: str | None = Field(None, description='e.g. "p. 3", "pp. 3–4", "slide 2", "sheet Sales".')
    ocr: bool = Field(False, description="Its text was read by OCR.")


class PhraseOut(_Open):
    text: str
    start: int = Field(description="Document offset; inside the answer's [start, end).")
    end: int


class AnswerSentenceOut(PlaceFields):
    text: str
    doc_id: str
    title: str
    start: int = Field(
        description="Offset into the document text: text == document.text[start:end]. May cover two "
        "adjacent sentences (a pronoun-led answer with its antecedent)."
    )
    end: int
    score: float
    span: PhraseOut | None = Field(
        None,
        description="The exact phrase that answers a typed question (when, how much, "
        'who, where, which <noun>), e.g. {"text": "40%", ...}.',
    )


class Span(_Open):
    start: int
    end: int


class PassageOut(PlaceFields):
    rank: int
    text: str
    score: float
    doc_id: str
    title: str
    start: int
    end: int
    scores: dict[str, float] = Field(description="Per-stage scores, e.g. dense, lexical, fused, rerank.")
    date: str | None = None
    highlight: Span | None = Field(None, description="The answer sentence's document offsets, when it lies here.")


class CorrectionOut(_Open):
    word: str
    suggestion: str


class SpellingOut(_Open):
    searched_for: str = Field(description="The question as searched, misspelled words replaced.")
    corrections: list[CorrectionOut]


class ContextOut(_Open):
    used: bool
    query: str
    previous: str | None = None
    carried: list[str] = []


TITLE = "U.S. and Guatemala Strengthen Strategic Cooperation on Security, Migration, and Economic Development"


class AnswerOut(_Open):
    # A real answer (the default corpus, all-MiniLM-L6-v2 ONNX int8; passage text shortened, scores rounded):
    # tests/test_contract.py asks the question and compares.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "By how much did Guatemala agree to increase deportation flights?",
                    "answer": {
                        "text": "Guatemala, a key transit and origin country for migration, has agreed to increase deportation "
                        "flights by 40%, ensuring the safe return and reintegration of Guatemalan nationals and "
                        "repatriation of third-country migrants.",
                        "doc_id": "rubio-arevalo-meeting-feb-2025",
                        "title": TITLE,
                        "start": 756,
                        "end": 976,
                        "score": 2.44,
                        "span": {"text": "40%", "start": 861, "end": 864},
                        "page": None,
                        "page_end": None,
                        "location": None,
                        "ocr": False,
                    },
                    "answered": True,
                    "confidence": 1.0,
                    "confidence_label": "likely",
                    "threshold": 0.1981,
                    "spelling": None,
                    "passages": [
                        {
                            "rank": 1,
                            "text": "Tackling Illegal Migration and Border Security\n\nGuatemala, a key trans ...",
                            "score": 1.2,
                            "doc_id": "rubio-arevalo-meeting-feb-2025",
                            "title": TITLE,
                            "start": 708,
                            "end": 1532,
                            "scores": {
                                "dense": 0.68,
                                "lexical": 12.07,
                                "fused": 1.0,
                                "sentence": 0.787,
                                "rerank": 1.2,
                            },
                            "date": "2025-04-22",
                            "highlight": {"start": 756, "end": 976},
                            "page": None,
                            "page_end": None,
                            "location": None,
                            "ocr": False,
                        }
                    ],
                    "context": {
                        "used": False,
                        "query": "By how much did Guatemala agree to increase deportation flights?",
                        "previous": None,
                        "carried": [],
                    },
                    "timings_ms": {
                        "spelling": 2.3,
                        "embed": 3.8,
                        "search": 2.8,
                        "fuse": 0.2,
                        "rerank": 1.3,
                        "answer": 2.2,
                        "total": 12.6,
                    },
                }
            ]
        }
    )

    question: str
    answer: AnswerSentenceOut | None = Field(description="The best sentence verbatim, or null when citeqa abstains.")
    answered: bool
    confidence: float = Field(description="Calibrated probability in [0, 1] that the answer sentence is right.")
    confidence_label: str | None = Field(None, description="likely | uncertain | unlikely")
    threshold: float = Field(description="The confidence below which citeqa abstains.")
    spelling: SpellingOut | None = Field(None, description="Set when misspelled question words were corrected.")
    passages: list[PassageOut]
    context: ContextOut
    timings_ms: dict[str, float]


class Example(_Open):
    question: str
    doc_id: str = Field(description="The document whose heading the question was made from.")
    heading: str


class ExamplesOut(_Open):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "examples": [
                        {
                            "question": "What about Tackling Illegal Migration and Border Security?",
                            "doc_id": "rubio-arevalo-meeting-feb-2025",
                            "heading": "Tackling Illegal Migration and Border Security",
                        }
                    ]
                }
            ]
        }
    )

    examples: list[Example] = Field(description="At most 5; empty when the documents have no headings that answer.")


class DocumentSummary(_Open):
    doc_id: str
    title: str
    source: str | None = None
    metadata: dict[str, str] = Field(description="What the document states: author, publisher, date, ...")
    characters: int
    chunks: int
    type: str | None = Field(None, description="File type: txt, md, html, pdf, ...")
    pages: int | None = None
    origin: str | None = Field(None, description="corpus (the user's folder) or upload (a file citeqa owns)")
    status: str | None = Field(None, description="indexed")


class Skipped(_Open):
    source: str
    reason: str


class PageOut(_Open):
    number: int = Field(description="1-based page or slide number; sheet order for sheets.")
    label: str = Field(description='"p. 3", "slide 2", "sheet Sales".')
    start: int
    end: int
    ocr: bool = False


class DocumentList(_Open):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 1,
                    "total": 1,
                    "offset": 0,
                    "limit": 100,
                    "skipped": [],
                    "documents": [
                        {
                            "doc_id": "rubio-arevalo-meeting-feb-2025",
                            "title": "U.S. and Guatemala Strengthen Strategic Cooperation",
                            "source": "rubio-arevalo-meeting-feb-2025.txt",
                            "metadata": {"date": "2025-04-22"},
                            "characters": 5210,
                            "chunks": 8,
                        }
                    ],
                }
            ]
        }
    )

    count: int = Field(description="Documents in this page.")
    total: int = Field(0, description="Documents in the index.")
    offset: int = 0
    limit: int = 100
    documents: list[DocumentSummary]
    skipped: list[Skipped] = Field(default_factory=list, description="Files that could not be indexed.")


class DocumentOut(_Open):
    doc_id: str
    title: str
    source: str | None = None
    metadata: dict[str, str]
    characters: int
    text: str = Field(description="The text every citation offset indexes.")
    type: str | None = Field(None, description='"pdf", "docx", "pptx", ...')
    pages: list[PageOut] = Field([], description="Page/slide/sheet boundaries as offsets into text, in order.")
    paragraphs: list[list[int]] = Field(
        [], description="[start, end] of each paragraph or heading in text, in order; soft line wraps lie inside one."
    )


class UploadOut(_Open):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "field-notes",
                    "title": "Field notes",
                    "source": "field-notes.md",
                    "characters": 1834,
                    "created": True,
                }
            ]
        }
    )

    doc_id: str
    title: str
    source: str
    characters: int
    created: bool


class DeleteOut(_Open):
    doc_id: str
    title: str
    deleted: bool


class HealthOut(_Open):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "documents": 5,
                    "chunks": 75,
                    "model": "all-MiniLM-L6-v2",
                    "built_at": "2026-11-22T06:16:39+00:00",
                }
            ]
        }
    )

    status: str
    documents: int
    chunks: int
    model: str | None = None
    built_at: str | None = None


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    detail: str = Field(description="What went wrong and what to do, in one line.")
    doc_id: str | None = Field(None, description="409 only: the document that already has this content.")
    errors: list[ValidationIssue] | None = Field(None, description="422 from request validation: each problem.")
