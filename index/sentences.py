"""Text -> sentences with exact offsets, inside the indexable blocks of `clean.blocks`.

A sentence never crosses a block boundary; soft line wraps inside a block are read as spaces.
`heading` marks a block that is one short line without final punctuation ("Bilateral Economic Relations").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.clean import blocks
from index.splitter import split_block

# "rules" (index/splitter.py, the default) or "pysbd" (the previous splitter, ~100x slower; kept for comparison)
SPLITTER = os.environ.get("CITEQA_SPLITTER", "rules")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    heading: bool = False
    gap_before: bool = False  # left-out text (chrome) lies between this sentence and the previous one


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def _split_block(flat: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of one block (soft newlines already spaces)."""
    if SPLITTER != "pysbd":
        return split_block(flat)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _segmenter().segment(flat):
        sent = piece.sent.strip()
        if not sent:
            continue
        at = piece.start + (len(piece.sent) - len(piece.sent.lstrip()))
        if flat[at : at + len(sent)] != sent:  # pysbd's spans drift on some inputs: find it instead
            found = flat.find(sent, cursor)
            if found < 0:
                continue
            at = found
        if at < cursor:
            continue
        spans.append((at, at + len(sent)))
        cursor = at + len(sent)
    if not spans:
        stripped = flat.strip()
        if stripped:
            at = flat.find(stripped)
            spans.append((at, at + len(stripped)))
    return spans


def split(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    prev_end = 0
    for block in blocks(text):
        raw = text[block.start : block.end]
        is_heading = "\n" not in raw and len(raw.split()) <= 12 and not raw.rstrip().endswith(tuple(".!?\"”"))
        carry: int | None = None  # start of a punctuation-only piece ("?" bullet) glued to the next sentence
        for s, e in _split_block(raw.replace("\n", " ")):
            if not any(ch.isalnum() for ch in raw[s:e]):
                carry = s if carry is None else carry
                continue
            s, carry = (carry if carry is not None else s), None
            start, end = block.start + s, block.start + e
            gap = bool(text[prev_end:start].strip()) if out else False
            out.append(Sentence(start, end, heading=is_heading, gap_before=gap))
            prev_end = end
    return out
