"""Follow-up questions without an LLM: carry the key terms of the previous turn into a short,
pronoun-led or elliptical question.

    history ["What is the Safe Third Country Agreement?"], question "When was it suspended?"
    -> Context(query="When was it suspended? Safe Third Country Agreement", used=True, ...)

`focus` is the follow-up's own wording: the answer sentence is chosen for covering *its* terms (the carried
words only steer retrieval), so "When was it suspended?" is answered by the sentence about the suspension, not
again by the sentence that defined the agreement.

Each earlier turn is first contextualised against the one before it, so "And what about Honduras?" after
two turns on a topic still carries that topic. A question that stands on its own is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import terms

_ANAPHORA = {
    "it",
    "its",
    "they",
    "them",
    "their",
    "theirs",
    "this",
    "that",
    "these",
    "those",
    "he",
    "she",
    "him",
    "her",
    "his",
    "hers",
    "there",
    "then",
    "such",
    "same",
    "former",
    "latter",
    "one",
}
_LEADS = ("and ", "what about", "how about", "also", "but ", "so ", "then ", "why?", "where?", "when?", "how?", "who?")
_FUNCTION = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "do",
    "does",
    "did",
    "the",
    "a",
    "an",
    "of",
    "in",
    "on",
    "to",
    "for",
    "and",
    "or",
    "by",
    "with",
    "about",
    "from",
    "at",
    "as",
    "much",
    "many",
    "tell",
    "me",
    "us",
    "please",
    "can",
    "could",
    "would",
    "should",
    "will",
    "has",
    "have",
    "had",
    "i",
    "you",
    "we",
    "any",
    "some",
    "more",
    "else",
} | _ANAPHORA


@dataclass(frozen=True)
class Context:
    query: str  # what retrieval embeds and searches
    used: bool  # whether earlier turns changed the query
    previous: str | None = None  # the (contextualised) earlier turn that was used
    carried: tuple[str, ...] = ()  # the words carried over
    focus: str | None = None  # the follow-up's own words, which the answer sentence must cover; None = query


def _key_words(text: str) -> list[str]:
    """Content words, keeping acronyms that look like function words: "What does the US import?" -> US, import."""
    return [w for w in re.findall(r"[\w'’-]+", text) if len(w) > 1 and (w.lower() not in _FUNCTION or w.isupper())]


def needs_context(question: str) -> bool:
    q = question.strip().lower()
    words = re.findall(r"[\w'’-]+", q)
    if not words or len(words) > 10:
        return False
    if any(w in _ANAPHORA for w in words) or q.startswith(_LEADS):
        return True
    return len(terms(question, question=True)) <= 1


def contextualize(question: str, history: list[str] | tuple[str, ...] | None) -> Context:
    turns = [h for h in (history or []) if h and h.strip()]
    if not turns:
        return Context(question, False)
    previous = contextualize(turns[-1], turns[:-1]).query
    if not needs_context(question):
        return Context(question, False)
    own = {w.lower() for w in _key_words(question)}
    carried = tuple(dict.fromkeys(w for w in _key_words(previous) if w.lower() not in own))
    if not carried:
        return Context(question, False)
    focus = question.strip() if terms(question, question=True) else None  # "Where?" has nothing of its own
    return Context(f"{question.strip()} {' '.join(carried)}", True, previous, carried, focus)
