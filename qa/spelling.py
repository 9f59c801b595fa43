"""Misspelled question words -> the corpus words they most likely meant (edit distance over the vocabulary).

    correct("Wat is the Safe Thrid Contry Agrement?", vocabulary)
    -> Spelling(searched_for="What is the Safe third country agreement?",
                corrections=(("Wat", "what"), ("Thrid", "third"), ("Contry", "country"), ("Agrement", "agreement")))

A word is left alone when the corpus holds it or its stem (any case), when it is an English word (the
pyspellchecker word list, installed from PyPI with it; a rare word one edit from a question word, "wat", is not
trusted), or when it has a digit or is shorter than 3 letters. Otherwise the nearest corpus word within
Damerau-Levenshtein distance 1 (words up to 5 letters) or 2 (longer) is chosen, the most frequent on ties,
keeping the first letter unless the first two are swapped. The vocabulary is a mapping
{lower-case word: how many chunks hold it}; its candidate table is built once per vocabulary object.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from index.lexical import terms

_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]|[A-Za-z]")
# Question and function words a question may hold that a corpus may lack (they are never "corrected").
COMMON = frozenset(
    """
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing done down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our out
over own same she should so some such than that the their them then there these they this those through to too under
until up very was we were what when where which while who whom whose why will with would you your yours
tell say said know find show give explain describe mean meaning happen happened happens many much long ago often
please anything something someone somebody everything nothing does doesn't didn't isn't wasn't aren't weren't
""".split()
)


_QUESTION_WORDS = ("what", "when", "where", "which", "who", "whom", "whose", "why", "how")
_RARE = (
    1000  # an English word seen fewer times than this in pyspellchecker's list is only trusted away from question words
)


@lru_cache(maxsize=1)
def _english() -> Any:
    try:
        from spellchecker import SpellChecker
    except ImportError:  # the package is a declared dependency; without it only the corpus decides
        return None
    return SpellChecker(distance=1).word_frequency


def _is_english(word: str) -> bool:
    freq = _english()
    if freq is None or word not in freq:
        return False
    return freq[word] >= _RARE or not any(distance(word, q) <= 1 for q in _QUESTION_WORDS)


@dataclass(frozen=True)
class Spelling:
    searched_for: str
    corrections: tuple[tuple[str, str], ...]  # (word as typed, suggestion)

    def to_dict(self) -> dict[str, object]:
        return {
            "searched_for": self.searched_for,
            "corrections": [{"word": w, "suggestion": s} for w, s in self.corrections],
        }


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


class _Table:
    """word and each single-letter delete of it -> the vocabulary words (symmetric-delete candidate lookup)."""

    def __init__(self, vocabulary: Mapping[str, int]) -> None:
        # common English words count as the most frequent: "wat" -> "what", not "way"
        # common English words count as the most frequent, question words above all: "wat" -> "what", not "was"
        common = {w: 2 * 10**9 if w in _QUESTION_WORDS else 10**9 for w in COMMON if w.isalpha()}
        self.freq: dict[str, int] = {w: n for w, n in vocabulary.items() if w.isalpha()} | common
        self.stems = {t for w in self.freq for t in terms(w)}
        self.keys: dict[str, set[str]] = {}
        for w in self.freq:
            if len(w) < 3:
                continue
            for k in {w} | _deletes(w):
                self.keys.setdefault(k, set()).add(w)

    def suggest(self, word: str) -> str | None:
        limit = 1 if len(word) <= 5 else 2
        probes = {word} | _deletes(word)
        if limit == 2:
            probes |= {d2 for d in _deletes(word) for d2 in _deletes(d)}
        found: set[str] = set()
        for p in probes:
            found |= self.keys.get(p, set())
        best: tuple[int, int, str] | None = None
        for cand in found:
            if cand[0] != word[0] and not (len(word) > 1 and cand[:2] == word[1::-1]):
                continue
            d = distance(word, cand)
            if d <= limit and (best is None or (d, -self.freq[cand]) < best[:2]):
                best = (d, -self.freq[cand], cand)
        return best[2] if best else None


_CACHE: dict[int, tuple[Mapping[str, int], _Table]] = {}
_LOCK = threading.Lock()


def _table(vocabulary: Mapping[str, int]) -> _Table:
    with _LOCK:
        hit = _CACHE.get(id(vocabulary))
        if hit is not None and hit[0] is vocabulary:
            return hit[1]
        table = _Table(vocabulary)
        if len(_CACHE) > 4:
            _CACHE.clear()
        _CACHE[id(vocabulary)] = (vocabulary, table)
        return table


def correct(question: str, vocabulary: Mapping[str, int]) -> Spelling | None:
    """None when every word is known; else the question with the misspelled words replaced."""
    if not vocabulary:
        return None
    table = None
    fixes: list[tuple[str, str]] = []
    out: list[str] = []
    at = 0
    for m in _WORD.finditer(question):
        word = m.group(0)
        low = word.lower().replace("’", "'")
        if len(low) < 3 or low in vocabulary or low in COMMON or low.removesuffix("'s") in vocabulary:
            continue
        table = table or _table(vocabulary)
        if set(terms(low)) & table.stems or _is_english(low.removesuffix("'s")):
            continue
        fix = table.suggest(low)
        if fix is None or fix == low:
            continue
        fixes.append((word, fix))
        out.append(question[at : m.start()])
        out.append(fix)
        at = m.end()
    if not fixes:
        return None
    out.append(question[at:])
    return Spelling("".join(out), tuple(fixes))
