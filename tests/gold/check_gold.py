#!/usr/bin/env python3
"""Verify the citeqa gold set (tests/gold/questions.jsonl) against corpus/.

Checks, for every record:
  * the id is unique and its prefix gives the kind (a = answerable,
    u = unanswerable, f = follow-up);
  * answerable / follow-up: the doc file corpus/<doc_id>.txt exists, the
    evidence has 4-14 words, and the whitespace-collapsed evidence occurs in
    the whitespace-collapsed document text;
  * follow-up: history is a non-empty list of strings;
  * unanswerable: doc_id and evidence are null.
Prints counts per kind and per document; exits 1 on any failure.

Usage (from the repository root):  python3 tests/gold/check_gold.py
Standard library only.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORPUS = ROOT / "corpus"
GOLD = HERE / "questions.jsonl"

KINDS = {"a": "answerable", "u": "unanswerable", "f": "follow-up"}


def collapse(text: str) -> str:
    return " ".join(text.split())


def main() -> int:
    errors: list[str] = []
    seen: set[str] = set()
    per_kind: Counter[str] = Counter()
    per_doc: Counter[tuple[str, str]] = Counter()
    docs: dict[str, str] = {}

    lines = GOLD.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: invalid JSON ({exc})")
            continue
        rid = rec.get("id")
        where = f"line {lineno} ({rid})"
        if not isinstance(rid, str) or not rid:
            errors.append(f"{where}: missing id")
            continue
        if rid in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(rid)
        kind = KINDS.get(rid[0])
        if kind is None:
            errors.append(f"{where}: id prefix must be one of {sorted(KINDS)}")
            continue
        per_kind[kind] += 1
        q = rec.get("question")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{where}: empty question")

        if kind == "unanswerable":
            if rec.get("doc_id") is not None or rec.get("evidence") is not None:
                errors.append(f"{where}: unanswerable must have null doc_id and evidence")
            continue

        if kind == "follow-up":
            hist = rec.get("history")
            if not (isinstance(hist, list) and hist and all(isinstance(h, str) and h.strip() for h in hist)):
                errors.append(f"{where}: history must be a non-empty list of strings")

        doc_id = rec.get("doc_id")
        evidence = rec.get("evidence")
        if not isinstance(doc_id, str) or not isinstance(evidence, str):
            errors.append(f"{where}: doc_id and evidence must be strings")
            continue
        path = CORPUS / f"{doc_id}.txt"
        if not path.is_file():
            errors.append(f"{where}: document not found: {path}")
            continue
        per_doc[(doc_id, kind)] += 1
        if doc_id not in docs:
            docs[doc_id] = collapse(path.read_text(encoding="utf-8"))
        ev = collapse(evidence)
        n_words = len(ev.split())
        if not 4 <= n_words <= 14:
            errors.append(f"{where}: evidence has {n_words} words (want 4-14)")
        n = docs[doc_id].count(ev)
        if n == 0:
            errors.append(f"{where}: evidence not found in {doc_id}: {evidence!r}")
        elif n > 1:
            # allowed, but worth knowing
            print(f"note: {where}: evidence occurs {n} times in {doc_id}")

    print("Counts per kind:")
    for kind in KINDS.values():
        print(f"  {kind:13s} {per_kind[kind]}")
    print("Counts per document (answerable / follow-up):")
    for doc_id in sorted({d for d, _ in per_doc}):
        a, f = per_doc[(doc_id, "answerable")], per_doc[(doc_id, "follow-up")]
        print(f"  {doc_id:45s} {a:3d} / {f:3d}")

    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        return 1
    print(f"\nOK: {sum(per_kind.values())} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
