"""Decide what of a document's text gets indexed, without changing the text.

`blocks(text)` -> [Block(start, end)]: the paragraphs and headings worth indexing, as offsets into `text`.
Site chrome (the .gov banner, comment forms, "Popular Articles", bylines, date lines, image credits) is left out.
Line breaks inside a block are soft wraps (the research article wraps every ~80 characters): sentence splitting
sees them as spaces, so they never break a sentence; line breaks between blocks are hard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CHROME = re.compile(
    r"""^(?:
        an\ official\ website\ of\ the\ united\ states\ government.*
      | here'?s\ how\ you\ know
      | official\ websites\ use\ \.gov
      | a\ \.gov\ website\ belongs\ to.*
      | secure\ \.gov\ websites\ use\ https
      | a\ lock\ \(.*\)\ or\ https://.*
      | leave\ a\ (?:reply|comment)
      | please\ enter\ your\ (?:comment|name|email).*
      | you\ have\ entered\ an\ incorrect\ email.*
      | save\ my\ name,\ email.*
      | (?:popular|related|recent|latest|trending)\ (?:articles|posts|news|stories)
      | top\ \d+\ this\ week
      | (?:share|tweet|print|email|subscribe|advertisement|skip\ to\ (?:main\ )?content)(?:\ this)?(?:\ article)?
      | (?:article\ type|authors?|keywords|posted|published|updated|filed\ under|tags)\s*:.*
      | bio\s*:.*
      | by\ [A-Z][\w.'’-]*(?:\ [A-Z][\w.'’-]*){0,3}
      | (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday),\ \w+\ \d{1,2},\ \d{4}
      | .{0,80}\[(?:shutterstock|getty\ images|reuters|ap\ photo|afp)[^\]]*\]
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A line that ends a sentence or a clause: the break after it is hard even in wrapped text.
# A closing quote or bracket counts only after sentence punctuation ('... agreement."' but not '"Safe Third"').
_TERMINAL_RE = re.compile(r"(?:[.!?:;]|[.!?][\"”’)\]]+)$")


@dataclass(frozen=True)
class Block:
    start: int
    end: int


def is_chrome(line: str) -> bool:
    return bool(_CHROME.match(line.strip()))


def _hard_wrapped(lines: list[str]) -> bool:
    """True for text wrapped at a fixed width: most lines 55-100 chars and many end mid-sentence."""
    full = [ln for ln in lines if ln.strip()]
    if len(full) < 8:
        return False
    sized = sum(55 <= len(ln) <= 100 for ln in full)
    open_ended = sum(not _TERMINAL_RE.search(ln.rstrip()) for ln in full)
    return sized >= 0.6 * len(full) and open_ended >= 0.4 * len(full)


def blocks(text: str) -> list[Block]:
    lines = text.split("\n")
    wrapped = _hard_wrapped(lines)
    out: list[Block] = []
    pos = 0
    cur: list[int] | None = None  # [start, end] of the block being grown
    prev_line = ""
    for line in lines:
        start, end = pos, pos + len(line)
        pos = end + 1
        stripped = line.strip()
        if not stripped or is_chrome(stripped):
            if cur:
                out.append(Block(cur[0], cur[1]))
            cur = None
            prev_line = ""
            continue
        lead = len(line) - len(line.lstrip())
        trail = len(line) - len(line.rstrip())
        s, e = start + lead, end - trail
        open_end = cur is not None and not _TERMINAL_RE.search(prev_line.rstrip())
        # A wrap inside a sentence: the text is hard-wrapped, or the line goes on in lower case.
        soft = open_end and (wrapped or stripped[:1].islower())
        if soft and cur is not None:
            cur[1] = e
        else:
            if cur:
                out.append(Block(cur[0], cur[1]))
            cur = [s, e]
        prev_line = stripped
    if cur:
        out.append(Block(cur[0], cur[1]))
    return out
