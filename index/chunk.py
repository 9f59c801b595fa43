"""Document -> passages: runs of whole sentences, bounded in words, with a one-sentence overlap.

`chunk(doc)` -> [Chunk]; `doc.text[c.start:c.end]` is the passage, verbatim. A chunk never cuts a sentence and
never spans left-out text (site chrome); one sentence longer than `max_words` is a chunk of its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from index.documents import Document
from index.sentences import Sentence, split

# Bump when cleaning, sentence splitting or packing changes: indexes built before are then re-chunked.
# 4: documents read by index/formats (rendered Markdown, web-page main content, PDF paragraphs + parts)
# 5: table rows and list items are not headings; no sentence break without a space; terms() keeps U.S., e-mail, 3.10
# 6: the rule sentence splitter (index/splitter.py) instead of pysbd
CHUNKER_VERSION = 6


@dataclass(frozen=True)
class ChunkParams:
    max_words: int = 120
    min_words: int = 40
    overlap_sentences: int = 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    start: int
    end: int
    sentences: tuple[Sentence, ...]


def _words(text: str, s: Sentence) -> int:
    return len(text[s.start : s.end].split())


def _runs(sentences: list[Sentence]) -> list[list[Sentence]]:
    """Split at left-out text: a chunk must not contain chrome."""
    runs: list[list[Sentence]] = []
    for s in sentences:
        if not runs or s.gap_before:
            runs.append([])
        runs[-1].append(s)
    return runs


def _pack(text: str, run: list[Sentence], p: ChunkParams) -> list[list[Sentence]]:
    groups: list[list[Sentence]] = []
    i = 0
    while i < len(run):
        group = [run[i]]
        words = _words(text, run[i])
        j = i + 1
        while j < len(run) and words + _words(text, run[j]) <= p.max_words:
            words += _words(text, run[j])
            group.append(run[j])
            j += 1
        while len(group) > 1 and group[-1].heading and j < len(run):  # a heading opens the next chunk
            group.pop()
            j -= 1
        groups.append(group)
        if j >= len(run):
            break
        # Step back for the overlap (not across a heading), but always advance by at least one sentence.
        i = j if run[j].heading else max(j - p.overlap_sentences, i + 1)
    # A short tail is folded into the chunk before it when that stays near the bound.
    if len(groups) > 1:
        tail_words = sum(_words(text, s) for s in groups[-1] if s not in groups[-2])
        prev_words = sum(_words(text, s) for s in groups[-2])
        if tail_words < p.min_words and prev_words + tail_words <= p.max_words * 1.25:
            merged = groups[-2] + [s for s in groups[-1] if s not in groups[-2]]
            groups[-2:] = [merged]
    return groups


def chunk(doc: Document, params: ChunkParams | None = None) -> list[Chunk]:
    p = params or ChunkParams()
    out: list[Chunk] = []
    for run in _runs(split(doc.text)):
        for group in _pack(doc.text, run, p):
            out.append(Chunk(doc.doc_id, group[0].start, group[-1].end, tuple(group)))
    return out
