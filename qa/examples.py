"""Example questions drawn from a corpus's own headings, for the chat page's "Try one of these".

    headings("Key Discussions on Crime and Migration\\nIn a press conference following the meeting, ...")
        -> ["Key Discussions on Crime and Migration"]
    heading_question("Key Discussions on Crime and Migration") -> "What about Key Discussions on Crime and Migration?"
    heading_question("How do I reset my password?")           -> "How do I reset my password?"

A heading is a short line (2-12 words, starting with a capital or a digit, without a sentence's closing
punctuation), after a blank line or a finished sentence, followed by a paragraph (a line of at least 60
characters that ends a sentence and does not carry on a hard-wrapped one): "Related Posts" followed by another
short line is page chrome, not a heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_WORD = re.compile(r"[A-Za-zÀ-ÿ0-9][\w'’.-]*")
_CLOSES_SENTENCE = re.compile(r"[.!:;,]$")
_PARAGRAPH_END = re.compile(r"[.!?:”\"')]$")
MIN_PARAGRAPH = 60


def _is_heading(line: str) -> bool:
    words = _WORD.findall(line)
    return (
        3 <= len(line) <= 90
        and 2 <= len(words) <= 12
        and (line[0].isupper() or line[0].isdigit())
        and not _CLOSES_SENTENCE.search(line)
        and not line.isupper()
    )


def headings(text: str) -> Iterator[str]:
    """Headings in reading order: after a blank line or a finished sentence (not inside a hard-wrapped paragraph)."""
    before = ""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for i, line in enumerate(lines):
        after = next((later for later in lines[i + 1 :] if later), "")
        if (
            _is_heading(line)
            and (not before or _PARAGRAPH_END.search(before))
            and len(after) >= MIN_PARAGRAPH
            and not after[0].islower()
            and _PARAGRAPH_END.search(after)
        ):
            yield line
        before = line


def title_case(heading: str) -> float:
    """Share of the longer words that are capitalised: 1.0 for "Bilateral Economic Relations", the style of headings."""
    words = [w for w in _WORD.findall(heading) if len(w) > 3]
    return sum(w[0].isupper() for w in words) / len(words) if words else 0.0


def heading_question(heading: str) -> str:
    return heading if heading.endswith("?") else f"What about {heading}?"
