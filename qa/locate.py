"""Where a cited span lies in its document: page(s), slide, sheet, and whether its text came from OCR.

where(doc.parts, 1292, 1404) -> {"page": 3, "page_end": 4, "location": "pp. 3–4", "ocr": False}
where((), 0, 10)             -> {"page": None, "page_end": None, "location": None, "ocr": False}
"""

from __future__ import annotations

from typing import Any

from index.formats import Part

NOWHERE: dict[str, Any] = {"page": None, "page_end": None, "location": None, "ocr": False}
_PLURAL = {"page": ("p. ", "pp. "), "slide": ("slide ", "slides ")}


def where(parts: tuple[Part, ...], start: int, end: int) -> dict[str, Any]:
    hit = [p for p in parts if p.start < max(end, start + 1) and start < p.end]
    if not hit:
        # A span in the gap between two parts (the blank line) belongs to the next one.
        hit = [p for p in parts if p.start >= start][:1]
    if not hit:
        return dict(NOWHERE)
    first, last = hit[0], hit[-1]
    ocr = any(p.ocr for p in hit)
    if first.kind in _PLURAL:
        one, many = _PLURAL[first.kind]
        location = first.label if first is last else f"{many}{first.number}–{last.number}"
        return {"page": first.number, "page_end": last.number, "location": location, "ocr": ocr}
    label = first.label if first is last else f"{first.label} – {last.label}"
    return {"page": None, "page_end": None, "location": label, "ocr": ocr}


def places(store: Any, spans: list[tuple[str, int, int]]) -> dict[tuple[str, int, int], dict[str, Any]]:
    """{(doc_id, start, end): where(...)} for every cited span, from the parts of the documents in `store`."""
    parts = {doc_id: _parts(store, doc_id) for doc_id in {d for d, _, _ in spans}}
    return {(d, s, e): where(parts[d], s, e) for d, s, e in spans}


_CACHE: dict[tuple[int, int, str], tuple[Part, ...]] = {}  # (store, generation, doc_id) -> parts


def _parts(store: Any, doc_id: str) -> tuple[Part, ...]:
    """A document's parts, read once per store generation (a document's text is not read for every question)."""
    from index.errors import DocumentNotFound

    key = (id(store), int(store.generation()), doc_id)
    if key not in _CACHE:
        try:
            if hasattr(store, "document_parts"):  # a store that keeps parts with its passages (Milvus)
                found = tuple(store.document_parts(doc_id))
            else:
                found = tuple(getattr(store.document(doc_id), "parts", ()) or ())
        except DocumentNotFound:  # deleted between retrieval and now: no location rather than an error
            found = ()
        if len(_CACHE) >= 1024:
            _CACHE.clear()
        _CACHE[key] = found
    return _CACHE[key]
