"""BM25 over the chunk table (bm25s, English stop words, Snowball stemming).

Tokens are kept per chunk, so adding or removing a document re-tokenises only that document; the BM25
matrix itself is recomputed from the kept tokens (about a second per 100k chunks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property, lru_cache
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


_WORD = re.compile(r"(?u)\d+(?:[.,]\d+)+|\b\w\w+\b")  # "3.10", "48,200" stay one token
_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}(?![A-Za-z])")  # "U.S.", "e.g.", "U.K."
_US = re.compile(r"\bUSA?\b")  # upper-case US, so that it does not meet the pronoun "us"
_LETTER_HYPHEN = re.compile(r"\b([A-Za-z])-([A-Za-z]{2,})")  # "e-mail" -> "email mail", "T-cell" -> "Tcell cell"


def normalize(text: str) -> str:
    """Spellings that should meet before tokenising: "U.S." and "US" -> "usa", "e-mail" -> "email mail"."""
    text = _ACRONYM.sub(
        lambda m: " usa " if m.group(0).lower() in ("u.s.", "u.s.a.") else m.group(0).replace(".", ""), text
    )
    text = _US.sub("usa", text)
    return _LETTER_HYPHEN.sub(r"\1\2 \2", text)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


@lru_cache(maxsize=1)
def _question_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    extra = """what which who whom whose when where why how did does do done much many about tell say said
    go goes going get gets got""".split()
    return frozenset(STOPWORDS_EN_PLUS) | frozenset(extra)


def terms(text: str, question: bool = False) -> list[str]:
    """Lower-cased, stop words out, Snowball-stemmed: "Deportation flights rose" -> ["deport", "flight", "rose"];
    "U.S. e-mail 3.10" -> ["usa", "email", "3.10"].
    `question=True` also drops question words and common verbs, for measuring how much of a question a
    sentence covers."""
    stop = _question_stopwords() if question else _stopwords()
    words = [w.replace(",", "") for w in _WORD.findall(normalize(text).lower()) if w not in stop]
    return list(_stemmer().stemWords(words))


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return [terms(t) for t in texts]


class Lexical:
    """BM25 scores of every chunk for a query; rows follow the chunk table."""

    def __init__(self, tokens: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        import bm25s

        self.tokens = tokens
        self.params = {"k1": k1, "b": b}
        self._bm25 = None
        if tokens:
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            # bm25s rejects an all-empty corpus row set; a placeholder token keeps rows aligned.
            self._bm25.index([t or ["\u2205"] for t in tokens], show_progress=False)

    @cached_property
    def _df(self) -> dict[str, int]:
        df: dict[str, int] = {}
        for toks in self.tokens:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        return df

    def idf(self, term: str) -> float:
        """BM25's idf of a stemmed term over the chunks: rare terms weigh more, unseen ones the most.
        e.g. with 75 chunks: "guatemala" (in 60) -> 0.25, "quetzal" (in none) -> 5.0."""
        n, df = len(self.tokens), self._df.get(term, 0)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def scores(self, query: str) -> np.ndarray:
        n = len(self.tokens)
        q = terms(query)
        if not n or not q or self._bm25 is None:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(q), dtype=np.float32)
