"""Rows of a citeqa Milvus store (index/milvus_store.py describes the collections): a prepared document -> its
rows per collection, and rows -> the Store protocol's records.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from index.documents import parts_to_json
from index.milvus_schema import DUMMY_DIM, MAX_VARCHAR
from index.store import DocumentState, PreparedDocument, SentenceRecord

PART_CHARS = 16000  # 4 bytes per character at most: a part always fits a 65535-byte VARCHAR


def fit(text: str, limit: int = MAX_VARCHAR) -> str:
    """Cut to at most `limit` UTF-8 bytes, on a character boundary."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def sentence_record(r: dict[str, Any], chunk: dict[str, Any]) -> SentenceRecord:
    """A sentence row (id "doc#s7", start, end, heading, vector); its text is cut from its passage's (sentences lie
    inside their passages)."""
    s, e, c0 = int(r["start"]), int(r["end"]), int(chunk["start"])
    doc_id, ordinal = str(r["id"]).rsplit("#s", 1)  # "doc#s7"
    return SentenceRecord(
        doc_id,
        int(ordinal),
        s,
        e,
        chunk["text"][s - c0 : e - c0],
        bool(r["heading"]),
        np.asarray(r["vector"], np.float32),
    )


def summary_state(h: dict[str, Any]) -> DocumentState:
    return DocumentState(h["doc_id"], h["source"], h["origin"], h["content_hash"], h.get("fingerprint") or None)


def document_rows(p: PreparedDocument) -> dict[str, list[dict[str, Any]]]:
    """One prepared document -> its rows per collection (heads: the part-0 row, the commit marker)."""
    d = p.document
    layout = parts_to_json(d.parts)
    chunks = [
        {
            "id": f"{d.doc_id}#c{i}",
            "doc_id": d.doc_id,
            "ord": i,
            "start": s,
            "end": e,
            "s0": s0,
            "s1": s1,
            "title": fit(d.title),
            "text": fit(d.text[s:e]),
            "terms": fit(" ".join(p.chunk_terms[i])),
            "doc": {
                "source": d.source,
                "chars": len(d.text),
                "metadata": dict(d.metadata),
                "parts": _overlapping(layout, s, e),
            },
            "vector": p.chunk_vectors[i],  # an array: index/milvus_insert.py packs it
        }
        for i, (s, e, s0, s1) in enumerate(p.chunks)
    ]
    sentences = [
        {
            "id": f"{d.doc_id}#s{i}",
            "doc_id": d.doc_id,
            "ord": i,
            "start": s,
            "end": e,
            "heading": bool(h),
            "vector": p.sentence_vectors[i],
        }
        for i, (s, e, h) in enumerate(p.sentences)
    ]
    pieces = [d.text[i : i + PART_CHARS] for i in range(0, len(d.text), PART_CHARS)] or [""]
    parts = [
        {
            "id": f"{d.doc_id}#p{i}",
            "doc_id": d.doc_id,
            "part": i,
            "parts": len(pieces),
            "title": fit(d.title),
            "source": fit(d.source),
            "origin": p.origin,
            "content_hash": d.content_hash,
            "chars": len(d.text),
            "fingerprint": p.fingerprint or "",
            "chunks": len(chunks),
            "metadata": dict(d.metadata) if i == 0 else {},
            "layout": {"parts": layout if i == 0 else []},
            "text": piece,  # 2.3: a JSON field is an object
            "dummy": [0.0] * DUMMY_DIM,
        }
        for i, piece in enumerate(pieces)
    ]
    return {"sentences": sentences, "parts": parts[1:], "chunks": chunks, "heads": parts[:1]}


def _overlapping(parts: list[dict[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    """The parts a passage [start, end) overlaps, and the next one (a span in a gap belongs to the next part)."""
    inside = [p for p in parts if int(p["start"]) < end and start < int(p["end"])]
    after = [p for p in parts if int(p["start"]) >= end][:1]
    return inside + after
