"""Sentence + question type -> the exact phrase that answers, by rules (no model, no gazetteer).

`phrases(text, "quantity")` -> [(start, end), ...] every phrase of that kind in `text`, offsets into `text`:
    "The project is expected to cost $62 million."      quantity -> "$62 million"
    "The bridge will reopen on Monday, 13 October."     date     -> "Monday, 13 October"
    "She was succeeded by Luis Prieto, who came ..."    name     -> "Luis Prieto"
`best_phrase(text, qtype, question_terms)` -> (start, end) or None: the phrase of the expected kind that is not
made of the question's own words, nearest to where the sentence meets the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from index.lexical import terms
from qa.qtype import QType

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_YEAR = r"(?:1[6-9]\d\d|20\d\d)"
_TIME = r"\d{1,2}(?::\d\d)?\s*(?:a\.m\.|p\.m\.|am|pm)"
_SEASON = r"(?:(?:early|late|mid|the\s+(?:spring|summer|autumn|fall|winter|end|start|beginning|middle)\s+of)\s+)"
_DATE = re.compile(
    rf"(?:{_WEEKDAY},?\s+)?(?:\d{{1,2}}\s+{_MONTH}(?:,?\s+{_YEAR})?|{_MONTH}\s+\d{{1,2}}(?!\d)(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?)"
    rf"(?:\s+at\s+{_TIME})?"
    rf"|\b{_YEAR}-\d\d-\d\d\b"
    rf"|\b{_MONTH}\s+{_YEAR}\b"
    rf"|{_SEASON}?(?:spring|summer|autumn|fall|winter)\s+(?:of\s+)?{_YEAR}"
    rf"|(?:\b(?:early|late|mid)[\s-])?\b{_YEAR}s?\b"
    rf"|\b{_WEEKDAY}\b|\b{_MONTH}\b(?!\s+\d)|\b{_TIME}"
)
_NUMWORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen|a\s+dozen|half|a\s+third|a\s+quarter)"
)
_NUM = r"\d+(?:[.,]\d+)*"
_SCALE = r"(?:\s+(?:thousand|million|billion|trillion))?"
_UNIT = (
    r"(?:percent|per\s+cent|%|(?:square\s+)?(?:miles?|kilometres?|kilometers?|km|metres?|meters?|feet|foot|"
    r"centimetres?|centimeters?|cm|millimetres?|mm|inches|gallons?|litres?|liters?|tons?|tonnes?|kg|kilograms?|"
    r"pounds?|grams?|milligrams?|mg|MB|GB|TB|KB|ms|seconds?|minutes?|hours?|days?|working\s+days|weeks?|months?|"
    r"years?|degrees?|acres?|hectares?)(?:\s+per\s+\w+(?:\s+a\s+\w+)?|\s+a\s+(?:day|week|month|year))?)"
)
_QUALIFIER = (
    r"(?:(?:about|around|roughly|nearly|almost|approximately|more\s+than|less\s+than|over|under|up\s+to|"
    r"within|some|at\s+least)\s+)?"
)
_QUANTITY = re.compile(
    rf"{_QUALIFIER}(?:[$€£¥]\s?{_NUM}{_SCALE}(?:\s+a\s+(?:day|week|month|year))?"
    rf"|\b{_NUM}{_SCALE}\s*{_UNIT}\b%?"
    rf"|\b{_NUM}%"
    rf"|\b{_NUMWORD}(?:[\s-]{_NUMWORD})*\s+{_UNIT}\b"
    rf"|(?:\(\d{{3}}\)\s*|\b\d{{3}}[-.\s])?\b\d{{3}}-\d{{4}}\b"
    rf"|\b\d+(?:st|nd|rd|th)\b"
    rf"|\b\d+-\d+\b"
    rf"|\b{_NUM}{_SCALE}\b"
    rf"|\b{_NUMWORD}\b)",
    re.IGNORECASE,
)
# A run of capitalised words, allowing inner "of", "&", "and", "the", "de": "Okoro & Lind Architects".
_CAP = r"(?:[A-Z][\w'’.-]*[\w]|[A-Z]|\d+-Clause)"
_NAME = re.compile(rf"\b{_CAP}(?:\s+(?:(?:of|the|de|del|van|von|&|and)\s+)?{_CAP})*")
_PLACE_WORD = re.compile(
    r"\b(?:Street|St\.|Avenue|Ave\.|Road|Rd\.|Route|Highway|River|Lake|Bridge|Park|Square|"
    r"County|City|Hall|Library|Building|Station|Plant|Foundry|Ridge|Falls|Valley|Mountains?)\b"
)
_PATH = re.compile(r"`[^`\s]*[/\\.][^`\s]*`|(?<![\w/])~?/[\w.-]+(?:/[\w.-]+)+")
_VERSION = re.compile(r"\b(?:[A-Z][\w+-]*\s+)?v?\d+(?:\.\d+)+\+?(?:\s+or\s+(?:newer|later|higher|above))?")
_SPEAKER = re.compile(r"^[A-Z][A-Z .'’-]+:\s*")  # "TOMAS WELLER: " in a transcript
_LEAD_WORDS = {
    "The",
    "A",
    "An",
    "This",
    "That",
    "These",
    "Those",
    "It",
    "Its",
    "In",
    "On",
    "At",
    "By",
    "For",
    "Our",
    "We",
    "I",
    "You",
    "He",
    "She",
    "They",
    "Their",
    "His",
    "Her",
    "Most",
    "Some",
    "All",
    "Every",
    "If",
    "When",
    "After",
    "Before",
    "According",
    "Today",
    "Yes",
    "No",
    "And",
    "But",
    "So",
    "To",
    "From",
    "Starting",
}
_MONTHS_DAYS = set(re.findall(r"[A-Z][a-z]+", _MONTH + _WEEKDAY))


def _name_phrases(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _NAME.finditer(text):
        s, e = m.start(), m.end()
        words = text[s:e].split()
        while words and (words[0] in _LEAD_WORDS or words[0].rstrip(",") in _MONTHS_DAYS):
            s = text.index(words[0], s) + len(words[0])
            s += len(text[s:]) - len(text[s:].lstrip())
            words = words[1:]
        while words and words[-1] in ("&", "and", "of", "the", "de"):
            e = text.rindex(words[-1], s, e)
            e = len(text[:e].rstrip())
            words = words[:-1]
        if not words or text[s:e].isupper() and len(text[s:e]) > 4 and " " in text[s:e]:
            continue  # a speaker label in capitals
        if len(words) == 1 and (len(words[0]) < 2 or words[0].isdigit()):
            continue
        out.append((s, e))
    return out


_ORG_END = re.compile(
    r"\b(?:Council|Department|Committee|Commission|Board|Company|Corporation|Inc\.?|Ltd\.?|"
    r"Office|Agency|Authority|Association|Society|Party|Ministry|Administration|Court|Bank|Group)$"
)


def _place_phrases(text: str) -> list[tuple[int, int]]:
    out = []
    for s, e in _name_phrases(text):
        before = text[max(0, s - 12) : s].lower()
        if _ORG_END.search(text[s:e]):
            continue  # "Northfield City Council" is an organisation, not a place
        if _PLACE_WORD.search(text[s:e]) or re.search(
            r"\b(?:in|at|from|along|near|to|into|across|on)\s+(?:the\s+)?$", before
        ):
            out.append((s, e))
    return out + [(m.start(), m.end()) for m in _PATH.finditer(text)]


def _regex(pattern: re.Pattern[str]) -> Callable[[str], list[tuple[int, int]]]:
    return lambda text: [(m.start(), m.end()) for m in pattern.finditer(text) if m.group(0).strip()]


_FINDERS: dict[str, Callable[[str], list[tuple[int, int]]]] = {
    "date": _regex(_DATE),
    "quantity": _regex(_QUANTITY),
    "name": _name_phrases,
    "place": _place_phrases,
    "version": _regex(_VERSION),
    "path": _regex(_PATH),
}


_MONEY = re.compile(r"[$€£¥]|\b(?:dollars?|euros?|pounds?|cents?)\b", re.IGNORECASE)
_DURATION = re.compile(r"\b(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?)\b", re.IGNORECASE)
_FREQUENCY = re.compile(
    r"\b(?:once|twice|thrice|(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many)\s+times)"
    r"(?:\s+(?:a|an|per|each|every)\s+\w+)?"
    r"|\bevery\s+(?:\d+\s+|other\s+|few\s+|two\s+|three\s+)?(?:second|minute|hour|day|week|month|year|morning|evening|night)s?\b"
    r"|\b(?:hourly|daily|nightly|weekly|fortnightly|monthly|quarterly|yearly|annually|biannually)\b",
    re.IGNORECASE,
)
_MEASURE = re.compile(
    r"\b(?:miles?|kilometres?|kilometers?|km|metres?|meters?|m|feet|foot|ft|inches|centimetres?|"
    r"centimeters?|cm|millimetres?|mm|yards?)\b",
    re.IGNORECASE,
)
_UNIT_FILTERS: dict[str, Callable[[str], bool]] = {
    "measure": lambda p: bool(_MEASURE.search(p)),
    "money": lambda p: bool(_MONEY.search(p)),
    "duration": lambda p: bool(_DURATION.search(p)),
    "count": lambda p: (
        not _MONEY.search(p)
        and not _DURATION.search(p)
        and "%" not in p
        and "percent" not in p.lower()
        and not re.search(r"\d{3}-\d{4}", p)
    ),  # a phone number counts nothing
}


def typed_phrases(text: str, qtype: QType) -> list[tuple[int, int]]:
    """Phrases of the question's kind, narrowed by its unit: "how much ... cost" wants "$62 million", not "7-2"."""
    if qtype.kind is None:
        return []
    if qtype.unit == "frequency":  # "twice a day", "every 15 minutes", "weekly"
        return _clean(text, [(m.start(), m.end()) for m in _FREQUENCY.finditer(text)])
    found = phrases(text, qtype.kind)
    keep = _UNIT_FILTERS.get(qtype.unit or "")
    if keep:
        found = [(s, e) for s, e in found if keep(text[s:e])]
    if qtype.counted:  # "how many employees": a number that counts something else ("48,200 residents") does not answer
        found = [(s, e) for s, e in found if _counts(text, s, e, qtype.counted)]
    if qtype.kind == "name":  # who/which company: a place name ("at the Riverbend County Building") does not answer
        found = [(s, e) for s, e in found if not _PLACE_BEFORE.search(text[max(0, s - 12) : s])]
    return found


_PLACE_BEFORE = re.compile(r"\b(?:in|at|from|near|into|across|along)\s+(?:the\s+)?$", re.IGNORECASE)


_OF_WHOM = {"you", "us", "them", "those", "these", "whom", "which"}
_TALLY = re.compile(r"\d+\s*[-–]\s*\d+")  # a vote or a score: "7-2", "3–1"


def _counts(text: str, start: int, end: int, counted: tuple[str, ...]) -> bool:
    """True when the number at [start, end) counts the asked thing, or counts nothing named ("1,312 of you");
    "612 miles of water mains" counts miles, not employees; "two of the steel girders" counts girders, not
    workers; "300 bicycle spaces" does not answer "how many parking spaces" (the words before the counted noun
    name another kind of it)."""
    asked = set(terms(" ".join(counted)))
    head = set(terms(counted[-1])) if counted else set()
    unit = re.findall(r"(?<=\d)\s*([A-Za-z][\w'-]*)", text[start:end])
    if unit and unit[-1].lower() not in ("thousand", "million", "billion", "trillion"):
        return bool(set(terms(unit[-1])) & asked)
    words_after = re.findall(r"[A-Za-z][\w'-]*", re.split(r"[,.;:!?()]", text[end : end + 50])[0])  # to a comma
    after = words_after[:3]
    if after and after[0].lower() == "of":  # "two of the steel girders", "1,312 of you"
        rest = [w for w in words_after[1:5] if w.lower() not in ("the", "our", "their", "its", "these", "those")]
        return not rest or rest[0].lower() in _OF_WHOM or any(set(terms(w)) & asked for w in rest)
    if not after or after[0].lower() in ("in", "on", "at", "by", "to", "and", "or", "are", "is", "were", "was"):
        return not _TALLY.fullmatch(text[start:end].strip())  # a bare tally ("voted 7-2 on") counts nothing
    words = [set(terms(w)) for w in after]
    at = next((i for i, t in enumerate(words) if t & head), None)
    if at is not None and len(asked - head) > 0:  # "how many parking spaces": the words before "spaces" must agree
        before = set().union(*words[:at]) if at else set()
        return not before or bool(before & asked)
    return any(t & asked for t in words)


def phrases(text: str, kind: str) -> list[tuple[int, int]]:
    """Every phrase of `kind` in `text` (a quantity inside a date is not a quantity: "13 October")."""
    found = _FINDERS[kind](text)
    if kind == "quantity":
        dates = _FINDERS["date"](text)
        found = [
            (s, e)
            for s, e in found
            if not any(ds <= s and e <= de and (de - ds) > (e - s) for ds, de in dates)
            and not re.fullmatch(r"(?:19|20)\d\d", text[s:e].strip())
        ]
        found = [(s, e) for s, e in found if not re.match(r"-[A-Za-z]", text[e : e + 2])]  # "24-hour" modifies
    if kind == "name":  # a name is not a date: "Monday", "October"
        found = [(s, e) for s, e in found if not _DATE.fullmatch(text[s:e])]
    return _clean(text, found)


def _clean(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in spans:
        while e > s and text[e - 1] in " ,;:.)" and not text[s:e].endswith(("p.m.", "a.m.", "St.", "Ave.", "Rd.")):
            e -= 1
        while s < e and text[s] in " ,;:(":
            s += 1
        if e > s:
            out.append((s, e))
    return sorted(set(out))


def has_phrase(text: str, qtype: QType) -> bool:
    return qtype.kind is not None and bool(typed_phrases(_body(text)[1], qtype))


def _body(text: str) -> tuple[int, str]:
    """(offset, text) without a leading transcript speaker label."""
    m = _SPEAKER.match(text)
    return (m.end(), text[m.end() :]) if m else (0, text)


def table_header(doc_text: str, start: int) -> str | None:
    """The first row of the table whose row starts at `start` in `doc_text`, or None outside a table."""
    line_start = doc_text.rfind("\n", 0, start) + 1
    if not doc_text[line_start : start + 1].lstrip().startswith("|"):
        return None
    header = None
    while line_start >= 0:
        line_end = doc_text.find("\n", line_start)
        line = doc_text[line_start : line_end if line_end >= 0 else len(doc_text)]
        if not line.lstrip().startswith("|"):
            break
        if any(ch.isalnum() for ch in line):
            header = line
        if line_start == 0:
            break
        line_start = doc_text.rfind("\n", 0, line_start - 1) + 1
    return header


def _cells(row: str) -> list[tuple[int, int]]:
    """Offsets of the cells of a table row "| 3.1 | 2024-09-15 |" (inner text, stripped)."""
    bars = [i for i, ch in enumerate(row) if ch == "|"]
    out = []
    for a, b in zip(bars, bars[1:]):
        inner = row[a + 1 : b]
        lead = len(inner) - len(inner.lstrip())
        out.append((a + 1 + lead, a + 1 + len(inner.rstrip())))
    return out


def _column_bonus(row: str, header: str | None, question_terms: set[str]) -> Callable[[int], float]:
    """For a table row under `header`, a bonus for phrases in the column whose heading the question names."""
    if not header:
        return lambda _: 0.0
    cells, heads = _cells(row), _cells(header)
    if len(cells) != len(heads) or len(cells) < 2:
        return lambda _: 0.0
    named = [bool(set(terms(header[a:b])) & question_terms) for a, b in heads]

    def bonus(at: int) -> float:
        return next((2.0 if named[i] else 0.0 for i, (a, b) in enumerate(cells) if a <= at < b), 0.0)

    return bonus


def best_phrase(text: str, qtype: QType, question_terms: set[str], header: str | None = None) -> tuple[int, int] | None:
    """The phrase of the expected kind that adds something to the question, nearest its matched words;
    in a table row (`header` its table's first row) the one in the column the question names."""
    if qtype.kind is None:
        return None
    off, body = _body(text)
    found = typed_phrases(body, qtype)
    if qtype.kind == "place" and not found:
        found = phrases(body, "path")
    if not found:
        return None
    anchors = [m.start() for m in re.finditer(r"\w+", body) if set(terms(m.group(0))) & question_terms]
    column = _column_bonus(body, header, question_terms)
    best, best_score = None, float("-inf")
    for s, e in found:
        own = terms(body[s:e])
        new = [t for t in own if t not in question_terms]
        if own and not new:
            continue  # only repeats the question: "Which Python version" -> not "Python"
        dist = min((abs(a - s) for a in anchors), default=0)
        score = -dist / 40.0 + 0.02 * min(e - s, 40) + column(s)
        if qtype.kind == "quantity" and body[s:e].isalpha():
            score -= 0.5  # "eleven" loses to "$14.2 million"
        if qtype.kind == "name" and re.search(r"\b(?:in|from|at|near)\s+$", body[max(0, s - 6) : s]):
            score -= 1.0  # "a firm from Millbrook": a place, not the name asked for
        if score > best_score:
            best, best_score = (s, e), score
    return None if best is None else (off + best[0], off + best[1])
