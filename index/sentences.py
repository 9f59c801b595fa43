"""Text -> sentences with exact offsets, inside the indexable blocks of `clean.blocks`.

A sentence never crosses a block boundary; soft line wraps inside a block are read as spaces.
`heading` marks a block that is one short line without final punctuation ("Bilateral Economic Relations");
a table row ("| 3.1 | 2024-09-15 | 3.9+ |") or a list item ("- Python 3.10 or newer") is never a heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.clean import blocks
from index.settings import Settings
from index.splitter import split_block

# "rules" (index/splitter.py, the default) or "pysbd" (the previous splitter, ~100x slower; kept for comparison)
SPLITTER = Settings.from_env().splitter  # CITEQA_SPLITTER: rules | pysbd, read when the module loads

_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+\S")


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
        if spans and at == spans[-1][1]:  # no space at the break ("`~/." | "local/share`"): not a sentence end
            spans[-1] = (spans[-1][0], at + len(sent))
            cursor = at + len(sent)
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
        table_row = raw.lstrip().startswith("|") and raw.count("|") >= 3  # "| 3.1 | 2024-09-15 |": a candidate
        list_item = bool(_LIST_ITEM.match(raw))  # "- Python 3.10 or newer": a candidate even without a full stop
        is_heading = (
            "\n" not in raw
            and len(raw.split()) <= 12
            and not raw.rstrip().endswith(tuple('.!?"”'))
            and not table_row
            and not list_item
        )
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
