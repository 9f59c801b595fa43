"""Corpus statistics of a Milvus store, held in the process: chunk count, token total and document frequency
of every stemmed term, so BM25 and idf cost no round trip per question.

BM25 is bm25s's "lucene" variant over the chunks' stored terms, the scores the FAISS path gives:
    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
    bm25(q, chunk) = sum over q's terms t of idf(t) * tf / (tf + k1 * (1 - b + b * len / avglen))
e.g. N=75 chunks, "quetzal" in none -> idf 5.0; a chunk holding it twice in 40 tokens (avglen 50) -> 6.9.
The writer updates its own copy with each write; other processes reload when the store's generation moves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

K1, B = 1.2, 0.75


@dataclass
class CorpusStats:
    n: int = 0  # chunks
    tokens: int = 0  # terms over all chunks
    df: Counter[str] = field(default_factory=Counter)  # stemmed term -> chunks holding it
    generation: int = -1  # the store's generation these numbers are of

    @classmethod
    def of(cls, chunk_terms: Iterable[Sequence[str]], generation: int = -1) -> CorpusStats:
        s = cls(generation=generation)
        s.add(chunk_terms)
        return s

    def add(self, chunk_terms: Iterable[Sequence[str]], sign: int = 1) -> None:
        for toks in chunk_terms:
            self.n += sign
            self.tokens += sign * max(1, len(toks))  # bm25s counts an empty chunk as one placeholder token
            for t in set(toks):
                self.df[t] += sign
                if self.df[t] <= 0:
                    del self.df[t]

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))

    def scorer(self, query: Sequence[str]) -> Callable[[str], float]:
        """-> BM25 (above) of one chunk from its stored terms string ("deport flight rose"), with the query's idf and
        the average length taken once per question (300 candidates a question on Milvus); 0.0 when none of the
        query's terms is in the corpus or the chunk."""
        weights = [(t, self.idf(t)) for t in query if t in self.df] if self.n else []
        avg = self.tokens / self.n if self.n else 1.0

        def score(terms: str) -> float:
            present = [(t, idf) for t, idf in weights if t in terms]  # a substring test first: most terms are absent
            if not present:
                return 0.0
            toks = terms.split()
            norm = K1 * (1 - B + B * max(1, len(toks)) / avg)
            total = 0.0
            for t, idf in present:
                if tf := toks.count(t):
                    total += idf * tf / (tf + norm)
            return total

        return score
