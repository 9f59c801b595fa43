"""Misspelled variants of the answerable single questions of both gold sets, for the typo target.

    python3 tests/gold2/make_typos.py      # rewrites tests/gold/typos.jsonl and tests/gold2/typos.jsonl

Deterministic: a generator seeded by each question's id picks up to two words of five letters or more and
either swaps two adjacent inner letters ("third" -> "thrid") or drops one inner letter ("country" -> "contry").
Each variant keeps its question's id, so it falls in the same dev/test half; `"typo_of"` holds the original.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETS = [ROOT / "gold", ROOT / "gold2"]


def misspell(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def variant(qid: str, question: str) -> str:
    rng = random.Random(int(hashlib.sha256(qid.encode()).hexdigest(), 16))
    words = list(re.finditer(r"[A-Za-z]{5,}", question)) or list(re.finditer(r"[A-Za-z]{4,}", question))
    picked = sorted(rng.sample(words, min(2, len(words))), key=lambda m: m.start())
    out, at = [], 0
    for m in picked:
        out += [question[at : m.start()], misspell(m.group(0), rng)]
        at = m.end()
    return "".join(out) + question[at:]


def main() -> None:
    for folder in SETS:
        rows = [
            json.loads(x) for x in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()
        ]
        with (folder / "typos.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                if r.get("doc_id") and not r.get("history"):
                    f.write(
                        json.dumps(
                            {**r, "question": variant(r["id"], r["question"]), "typo_of": r["question"]},
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
        print(f"wrote {folder / 'typos.jsonl'}")


if __name__ == "__main__":
    main()
