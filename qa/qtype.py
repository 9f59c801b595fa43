"""Question -> the type of phrase that would answer it.

`question_type("When will the bridge reopen?")` -> QType("date")
`question_type("How much will the hub cost?")` -> QType("quantity")
`question_type("Which company is rebuilding the bridge?")` -> QType("name", noun="company")
`question_type("Which Python version does it require?")` -> QType("version", noun="version")
`question_type("Why did it take so long?")` -> QType(None): untyped, no phrase expected

Kinds: date (a date, year, month or time), quantity (amount, number, percentage, measure), name (a person or an
organisation, or an instance of a named thing: a licence, a programme), place, version, path (a file or folder).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class QType:
    kind: str | None
    noun: str | None = None  # "which/what <noun>": the noun, e.g. "company", "license"
    unit: str | None = (
        None  # quantities: "money" (how much ... cost), "count" (how many <noun>), "duration" (how long),
    )
    # "measure" (how deep/far/high/tall/wide, how long is), "frequency" (how often)
    counted: tuple[str, ...] = ()  # "how many lead service lines" -> the words counted: ("lead", "service", "lines")


_NOUN_KINDS = {
    "date": "year years date dates day days month months time times decade century deadline".split(),
    "quantity": (
        "number numbers amount amounts cost costs price prices budget share percentage percent proportion gdp "
        "revenue income value tuition rent wage wages "
        "rate rates total size population count level levels figure figures sum fee fees salary height "
        "length width depth distance weight capacity score vote votes rank ranking temperature speed"
    ).split(),
    "name": (
        "company companies firm firms organisation organization agency agencies person people member members "
        "architect architects contractor contractors group groups team teams official officials leader "
        "license licence program programme name party country countries city cities author maintainer "
        "director president mayor governor minister"
    ).split(),
    "place": "place places location locations site sites street address region area town state states".split(),
    "version": "version versions release releases".split(),
    "path": "file files folder directory path".split(),
}
_NOUN_KIND = {n: k for k, ns in _NOUN_KINDS.items() for n in ns}
_PLACE_NOUNS = {"city", "cities", "country", "countries"}  # "which city" wants a place, though it is a name

_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^(?:since|until|till|by)\s+when\b|^when\b|\b(?:what|which)\s+(?:year|date|day|month|time)\b"
            r"|^by\s+what\s+(?:year|date)\b|^(?:in|on)\s+what\s+(?:year|date|day|month)\b|\bhow\s+long\s+ago\b"
        ),
        "date",
    ),
    (
        re.compile(
            r"\bhow\s+(?:much|many|long|far|old|big|large|high|deep|often|quickly|fast|accurate|accurately)\b"
            r"|\bby\s+how\s+much\b|\bwhat\s+(?:share|percentage|proportion|fraction|number|amount)\b"
        ),
        "quantity",
    ),
    (re.compile(r"^(?:who|whom|whose)\b|\bwho\s+(?:is|was|are|were|did|does|will)\b|\bby\s+whom\b"), "name"),
    (re.compile(r"^where\b|\bwhere\s+(?:is|was|are|were|did|does|do|will|can)\b|\bfrom\s+where\b"), "place"),
]
_PREPOSITIONS = set("of in for at on to by with from that which who about under over between during".split())
_MONEY_NOUNS = set(
    "cost costs price prices budget salary fee fees gdp revenue income value tuition rent wage wages".split()
)
_AUX = set("is was are were will would can could do does did has have had should must may might".split())
_COPULA = re.compile(r"^(?:what|which)\s+(?:is|was|are|were|will\s+be|'s)\s+(.*)$")


def _noun_type(words: list[str]) -> QType | None:
    for w in words:
        w = w.removesuffix("'s")
        if w in _NOUN_KIND:
            return QType("place" if w in _PLACE_NOUNS else _NOUN_KIND[w], w)
    return None


_MONEY = re.compile(
    r"\b(?:cost|costs|money|pay|paid|spend|spent|price|budget|fund|funds|invest|invests|worth|charge|fee|"
    r"fees|salary|dollars|euros|grant|promised|raise|raised|tuition|rent|bill|bills|tax|taxes|wage|wages)\b"
)
_TIME_UNITS = re.compile(r"^(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?)$")


def _unit(q: str) -> str | None:
    """ "how much will the hub cost" -> "money"; "how many students" -> "count"; "how long did it take" -> "duration"."""
    if re.search(r"\bhow\s+often\b|\bhow\s+many\s+times\s+(?:a|an|per|each)\b", q):
        return "frequency"
    if re.search(r"\bhow\s+(?:deep|far|high|tall|wide)\b|\bhow\s+long\s+(?:is|are)\b", q):
        return "measure"
    if re.search(r"\bhow\s+long\b", q):
        return "duration"
    m = re.search(r"\bhow\s+many\s+(\w+)", q)
    if m:
        return None if _TIME_UNITS.match(m.group(1)) else "count"  # "how many days": any number
    if re.search(r"\bhow\s+much\b", q) and _MONEY.search(q):
        return "money"
    return None


def _counted(q: str) -> tuple[str, ...]:
    """The words after "how many" up to the verb: "how many lead service lines are left" -> lead, service, lines."""
    m = re.search(r"\bhow\s+many\s+(.*)", q)
    out: list[str] = []
    for w in (m.group(1).split() if m else [])[:4]:
        if w in _AUX or w in ("of", "in", "on", "at", "for", "to", "does", "did", "do"):
            break
        out.append(w)
    return tuple(out)


def question_type(question: str) -> QType:
    q = " ".join(question.lower().replace("’", "'").split())
    q = q.rstrip("?.! ")
    for pattern, kind in _RULES:
        if pattern.search(q):
            if kind != "quantity":
                return QType(kind)
            unit = _unit(q)
            return QType(kind, unit=unit, counted=_counted(q) if unit == "count" else ())
    m = _COPULA.match(q)  # "what is the population of ...", "what was Luis Prieto's salary": the head noun decides
    if m:
        phrase: list[str] = []
        for w in m.group(1).split():
            if w in _PREPOSITIONS:
                break
            phrase.append(w)
        found = _noun_type(phrase[-1:]) if phrase else None
        if found and found.noun in _MONEY_NOUNS:
            return QType("quantity", found.noun, unit="money")
        return found or QType(None)
    words = q.split()
    if words and words[0] in ("which", "what") and len(words) > 1 and words[1] not in _AUX:
        found = _noun_type(words[1:4])
        if found:
            return found
        if words[0] == "which":  # "which <unknown noun>": an instance, most often a name
            return QType("name", words[1])
    return QType(None)
