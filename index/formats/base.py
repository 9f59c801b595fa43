"""What every reader returns, and the helpers readers share.

A reader: bytes -> Extracted(text, title, metadata, parts, warnings). `text` is the document text every citation
offset indexes; `parts` ("p. 3", "slide 2", "sheet Sales") are offsets into it, in order, non-overlapping, e.g.
    Extracted("Intro ...\n\nResults ...", "Annual report", {"author": "R. Diaz"},
              (Part("page", 1, "p. 1", 0, 9), Part("page", 2, "p. 2", 11, 22)), ())
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.errors import BadDocument

PART_SEP = "\n\n"  # between pages, slides, sheets: the page marker in the document text


@dataclass(frozen=True)
class Part:
    kind: str  # "page" | "slide" | "sheet" | "section"
    number: int  # 1-based page or slide number; sheet/section order
    label: str  # "p. 3", "slide 2", "sheet Sales"
    start: int
    end: int
    ocr: bool = False


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    parts: tuple[Part, ...] = ()
    warnings: tuple[str, ...] = ()  # e.g. "page 4 needs OCR: apt-get install tesseract-ocr"


@dataclass(frozen=True)
class Section:
    """One page/slide/sheet before assembly: its text and how to label it."""

    kind: str
    number: int
    label: str
    text: str
    ocr: bool = False


def tidy(text: str) -> str:
    """Collapse runs of spaces inside lines and of blank lines; strip. The result is verbatim document text."""
    lines = [
        re.sub(r"[ \t\u00a0\u200b\f\v]+", " ", line).strip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def assemble(sections: list[Section]) -> tuple[str, tuple[Part, ...]]:
    """Join sections with a blank line; each non-empty section becomes a Part over its own text."""
    chunks: list[str] = []
    parts: list[Part] = []
    pos = 0
    for s in sections:
        body = tidy(s.text)
        if not body:
            continue
        if chunks:
            pos += len(PART_SEP)
        parts.append(Part(s.kind, s.number, s.label, pos, pos + len(body), s.ocr))
        chunks.append(body)
        pos += len(body)
    return PART_SEP.join(chunks), tuple(parts)


def cell_text(value: object) -> str:
    """A table cell as a reader sees it: 7421 -> "7421", 0.5 -> "0.5", None -> "", a date -> "2025-02-05"."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def table_lines(rows: list[list[str]]) -> list[str]:
    """Rows of cells -> one line per row with its headers: [["Region", "Sales"], ["North", "7,421"]] ->
    ["Region: North; Sales: 7,421."]. The first non-empty row is the header; a one-row table is kept as is.
    The full stop makes each row a sentence of its own (an answer can cite one row)."""
    rows = [[c.strip() for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    if len(rows) == 1:
        return [_stop("; ".join(c for c in rows[0] if c))]
    header = rows[0]
    out = []
    for row in rows[1:]:
        cells = []
        for i, value in enumerate(row):
            if not value:
                continue
            name = header[i] if i < len(header) and header[i] else ""
            cells.append(f"{name}: {value}" if name else value)
        if cells:
            out.append(_stop("; ".join(cells)))
    return out


def _stop(line: str) -> str:
    return line if line.endswith((".", "!", "?")) else line + "."


def require_text(text: str, what: str = "document") -> str:
    if not text.strip():
        raise BadDocument(f"the {what} has no text")
    return text
