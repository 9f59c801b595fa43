"""Passages and their sentences -> vectors, with one model pass over the text instead of two.

`vectorize(embedder, docs, embed_text)` -> (chunk_vectors, sentence_vectors), rows in the order of `docs`,
their chunks, their sentences. Both pooled schemes read the model's token states (the ONNX export's second
output) and mean-pool them over spans, L2-normalised:
  - sentence-first (default): each sentence is one model run, so its vector is exactly what embedding it alone
    gives; a passage's vector is the mean of the title run's token states ("Title.", with its [CLS] and [SEP])
    and its sentences' inner token states (each sentence run's own [CLS]/[SEP] left out, so the pooled passage
    has one of each, as one run of "Title. passage" has), standing in for embedding "Title. passage" whole.
  - late chunking: each passage is one run of `embed_text(title, passage)` ("Title. passage text", whitespace
    collapsed), its pooled output the passage vector; a sentence's vector is the mean of that run's token
    states over the sentence's tokens (tokenizer offsets map the sentence's characters, shifted by the title
    prefix and the collapsed whitespace, to tokens). A sentence truncated away is embedded on its own.
An embedder without token outputs (torch, test fakes) embeds passages and sentences separately.

CITEQA_SENTENCE_VECTORS picks the scheme (measured in docs/BENCHMARKS.md, section 2b):
    sentences  (default) one run per sentence and one per title; passage vectors pooled from those runs
               (~1.6-1.8x the plain baseline's documents/s on 1,000 SciFact abstracts; full SciFact nDCG@10
               0.7375 vs 0.7396 for `separate` with pysbd)
    separate   one run per passage and one per sentence: ~2x the model work (~0.55-0.7x the baseline)
    late       one run per passage; sentence vectors pooled from it (1.57x; nDCG@10 0.7345)
VECTORS_VERSION is part of the index manifest: an index whose vectors were made another way is refused.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.embed import Embedder
from index.settings import Settings

MODES = ("late", "separate", "sentences")
VECTORS_VERSION = 2  # 2: sentence-first passages pool the sentences' inner tokens (one [CLS]/[SEP], the title's)
MODE = Settings.from_env().sentence_vectors  # CITEQA_SENTENCE_VECTORS, read when the module loads
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class DocParts:
    title: str
    text: str
    chunks: Sequence[tuple[int, int]]  # (start, end) in text
    sentences: Sequence[tuple[int, int, int]]  # (start, end, index into chunks of a chunk that holds it)


def flat(text: str) -> str:
    return " ".join(text.split())


def flat_offsets(passage: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Character spans in `passage` -> the same spans in flat(passage). Spans start and end on non-space text:
    flat_offsets("a  b\\nc", [(3, 6)]) == [(2, 5)]."""
    starts: list[int] = []
    flat_starts: list[int] = []
    at = 0
    for m in _WORD.finditer(passage):
        starts.append(m.start())
        flat_starts.append(at)
        at += m.end() - m.start() + 1

    def to_flat(pos: int) -> int:
        i = max(0, bisect_right(starts, pos) - 1)
        return flat_starts[i] + (pos - starts[i]) if starts else 0

    return [(to_flat(s), to_flat(e - 1) + 1) for s, e in spans]


def pool(states: np.ndarray, offsets: Sequence[tuple[int, int]], span: tuple[int, int]) -> np.ndarray | None:
    """Mean of the states of the tokens that overlap `span` (characters of the embedded text), L2-normalised;
    None when no token does (the span was truncated away)."""
    lo, hi = span
    rows = [i for i, (a, b) in enumerate(offsets) if b > a and a < hi and b > lo]
    if not rows:
        return None
    mean = states[rows].mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None


def vectorize(
    embedder: Embedder,
    docs: Sequence[DocParts],
    embed_text: Callable[[str, str], str],
    progress: Callable[[int], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(chunk vectors (n_chunks, dim), sentence vectors (n_sentences, dim)) over all `docs`, in order.
    `progress(n)` counts passages and sentences as they are done."""
    passages = [embed_text(d.title, d.text[s:e]) for d in docs for s, e in d.chunks]
    sentences = [(d, s, e, c) for d in docs for s, e, c in d.sentences]
    if MODE not in MODES:
        from index.errors import CiteqaError

        raise CiteqaError(f"CITEQA_SENTENCE_VECTORS={MODE!r}: choose one of {', '.join(MODES)}")
    embed_tokens = getattr(embedder, "embed_tokens", None)
    if MODE == "separate" or embed_tokens is None:
        vectors = embedder.embed(passages + [flat(d.text[s:e]) for d, s, e, _ in sentences], progress=progress)
        return vectors[: len(passages)], vectors[len(passages) :]
    if MODE == "sentences":
        return _from_sentences(embedder, docs, embed_text, progress)
    dim = embedder.dim
    chunk_vecs = np.zeros((len(passages), dim), np.float32)
    sent_vecs = np.zeros((len(sentences), dim), np.float32)
    base = 0  # row of the doc's first chunk
    row = 0  # row of the doc's first sentence
    missing: list[int] = []
    step = 64  # documents per call: progress comes about this often
    for lo in range(0, len(docs), step):
        batch = docs[lo : lo + step]
        n = sum(len(d.chunks) for d in batch)
        texts = passages[base : base + n]
        runs = embed_tokens(texts) if texts else []
        j = 0  # position in texts/runs
        for d in batch:
            by_chunk: dict[int, list[int]] = {}
            for k, (_, _, c) in enumerate(d.sentences):
                by_chunk.setdefault(c, []).append(k)
            for c, (cs, ce) in enumerate(d.chunks):
                vec, states, offsets = runs[j + c]
                chunk_vecs[base + c] = vec
                ks = by_chunk.get(c, [])
                if not ks:
                    continue
                passage = d.text[cs:ce]
                if not texts[j + c].endswith(flat(passage)):  # an embed_text that reshapes the passage: no mapping
                    missing += [row + k for k in ks]
                    continue
                prefix = len(texts[j + c]) - len(flat(passage))  # "Title. " before the passage
                spans = flat_offsets(passage, [(d.sentences[k][0] - cs, d.sentences[k][1] - cs) for k in ks])
                for k, (fs, fe) in zip(ks, spans):
                    v = pool(states, offsets, (fs + prefix, fe + prefix))
                    if v is None:
                        missing.append(row + k)
                    else:
                        sent_vecs[row + k] = v
            j += len(d.chunks)
            base += len(d.chunks)
            row += len(d.sentences)
        if progress:
            progress(n + sum(len(d.sentences) for d in batch))
    if missing:
        sent_vecs[missing] = embedder.embed(
            [flat(sentences[i][0].text[sentences[i][1] : sentences[i][2]]) for i in missing]
        )
    return chunk_vecs, sent_vecs


def _from_sentences(
    embedder: Embedder,
    docs: Sequence[DocParts],
    embed_text: Callable[[str, str], str],
    progress: Callable[[int], Any] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence-first: each sentence (and the title prefix, once per document) is one model run; a passage's
    vector is the mean of the token states of its title and sentence runs, L2-normalised."""
    embed_tokens = embedder.embed_tokens  # type: ignore[attr-defined]
    dim = embedder.dim
    n_chunks = sum(len(d.chunks) for d in docs)
    n_sents = sum(len(d.sentences) for d in docs)
    chunk_vecs = np.zeros((n_chunks, dim), np.float32)
    sent_vecs = np.zeros((n_sents, dim), np.float32)
    base = row = 0
    step = 64
    for lo in range(0, len(docs), step):
        batch = docs[lo : lo + step]
        texts: list[str] = []
        for d in batch:
            prefix = embed_text(d.title, "x")[:-1].strip()  # "Title." or ""
            texts.append(prefix)
            texts += [flat(d.text[s:e]) for s, e, _ in d.sentences]
        runs = embed_tokens([t for t in texts if t])
        it = iter(runs)
        at = 0
        for d in batch:
            title_run = next(it) if texts[at] else None
            at += 1
            # prefix sums over the sentence runs of their inner token states (no [CLS]/[SEP]), and the specials
            sums = np.zeros((len(d.sentences) + 1, dim), np.float64)
            counts = np.zeros(len(d.sentences) + 1, np.int64)
            specials: list[np.ndarray] = []
            for k in range(len(d.sentences)):
                vec, states, _ = next(it)
                sent_vecs[row + k] = vec
                sums[k + 1] = sums[k] + states[1:-1].sum(axis=0)
                counts[k + 1] = counts[k] + max(0, len(states) - 2)
                specials.append(states[0] + states[-1] if len(states) >= 2 else states.sum(axis=0))
                at += 1
            starts = [s for s, _, _ in d.sentences]
            ends = [e for _, e, _ in d.sentences]
            for c, (cs, ce) in enumerate(d.chunks):
                k0 = bisect_left(starts, cs)  # the chunk's sentences: k0..k1-1 (sentences are in text order)
                k1 = max(k0, bisect_right(ends, ce))
                # one [CLS] and one [SEP], as one run of "Title. passage" has: the title run's whole, or else
                # the first sentence's specials
                if title_run is not None:
                    head, n_head = title_run[1].sum(axis=0), len(title_run[1])
                elif k1 > k0:
                    head, n_head = specials[k0], 2
                else:
                    head, n_head = np.zeros(dim), 0
                mean = (head + sums[k1] - sums[k0]) / max(1, n_head + counts[k1] - counts[k0])
                chunk_vecs[base + c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            base += len(d.chunks)
            row += len(d.sentences)
        if progress:
            progress(sum(len(d.chunks) + len(d.sentences) for d in batch))
    return chunk_vecs, sent_vecs
