"""Refit the answer-confidence model (qa/confidence.json) on the dev halves of both gold sets.

    .venv/bin/python -m bench.calibrate [--write] [--cache DIR]

1. Index each gold corpus (corpus/ and tests/gold2/corpus/) into the cache folder and ask every question with
   the threshold at 0, so every question gets the sentence citeqa would choose and its features (each set's
   questions.jsonl and its dev_extra.jsonl: more dev questions, odd ids only).
2. Fit a logistic regression (Newton's method, a small L2 penalty) on the DEV half only (odd ids): label 1
   when the chosen sentence covers the gold evidence, 0 otherwise (every unanswerable question is a 0).
3. Choose the threshold on the same dev half: the highest probability that still answers >= 95% of the
   answerable dev questions (which abstains on as many unanswerable ones as that allows), moved down to the middle
   of the gap to the next lower dev probability.
The feature set is chosen first, by two-fold cross-validation within dev (folds by id // 2 parity): cos,
coverage and margin plus up to three of the other features in qa.confidence.FEATURES; the set with the lowest
held-out Brier score among those that include `typed_missing` (the typed-phrase evidence) wins.
The test halves are never read here. `--write` stores the features, weights and threshold in
qa/confidence.json; `--select` also prints every candidate set's cross-validated figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GOLD_SETS = [
    ("gold", ROOT / "corpus", ROOT / "tests/gold/questions.jsonl"),
    ("gold2", ROOT / "tests/gold2/corpus", ROOT / "tests/gold2/questions.jsonl"),
]
# More dev questions (odd ids only, written after the gold sets without reading their test halves; a question
# whose evidence overlaps a test question's was left out): read here, for fitting, besides each set's dev half.
DEV_EXTRA = "dev_extra.jsonl"
ANSWERED_TARGET = 0.95
L2 = 0.1


def engine_for(corpus: Path, index: Path, embedder: Any) -> Any:
    from qa.engine import Engine, Settings, sync

    settings = Settings(corpus=corpus, index=index)
    return Engine.open(settings, embedder=embedder, store=sync(settings, embedder).store)


def collect(engine: Any, gold: list[Any]) -> list[dict[str, Any]]:
    """One row per question: the features of the sentence chosen with no threshold, and whether it hits."""
    from qa.evaluate import run_gold

    eng = dataclasses.replace(engine, answering=dataclasses.replace(engine.answering, threshold=0.0))
    out = []
    for r in run_gold(eng, gold):
        out.append(
            {
                "id": r.q.id,
                "split": r.q.split,
                "answerable": r.q.answerable,
                "hit": bool(r.answer_hit),
                "features": r.features,
            }
        )
    return out


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, iters: int = 50) -> tuple[float, np.ndarray]:
    """Logistic regression by Newton's method; features standardised inside, weights returned on the raw scale."""
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    reg = np.eye(len(w)) * l2
    reg[0, 0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        grad = z.T @ (p - y) + reg @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = w[1:] / sd
    return float(w[0] - (w[1:] * mu / sd).sum()), weights


def choose_threshold(probs: np.ndarray, answerable: np.ndarray) -> float:
    """The highest probability that still answers ANSWERED_TARGET of the answerable questions, moved down to the
    middle of the gap to the next lower probability (as the project's earlier threshold was), so that a question
    sitting exactly on it is not decided by rounding."""
    levels = sorted(set(np.round(probs, 4).tolist()))
    best = 0.0
    for t in levels:
        if (probs >= t)[answerable].mean() >= ANSWERED_TARGET:
            best = t
    lower = [x for x in levels if x < best]
    return float((best + lower[-1]) / 2) if lower else float(best)


BASE_FEATURES = ("cos", "coverage", "margin")
REQUIRED_FEATURE = "typed_missing"
MAX_EXTRA = 3


def cross_validate(dev: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, float]:
    """Two folds within dev: fit and threshold on one, measure on the other; answered, abstained, Brier."""
    import re

    from qa import confidence

    def x_of(rs: list[dict[str, Any]]) -> np.ndarray:
        return np.array([confidence.vector(r["features"], names) for r in rs], dtype=np.float64)

    def fold(r: dict[str, Any]) -> int:
        m = re.search(r"(\d+)$", r["id"])
        return (int(m.group(1)) // 2) % 2 if m else 0

    answered = abstained = n_ans = n_un = 0
    brier = 0.0
    for k in (0, 1):
        train, held = [r for r in dev if fold(r) != k], [r for r in dev if fold(r) == k]
        b, w = fit(x_of(train), np.array([1.0 if r["hit"] else 0.0 for r in train]))
        p_train = 1.0 / (1.0 + np.exp(-(b + x_of(train) @ w)))
        t = choose_threshold(p_train, np.array([r["answerable"] for r in train]))
        p = 1.0 / (1.0 + np.exp(-(b + x_of(held) @ w)))
        a = np.array([r["answerable"] for r in held])
        y = np.array([1.0 if r["hit"] else 0.0 for r in held])
        answered += int((p[a] >= t).sum())
        abstained += int((p[~a] < t).sum())
        n_ans, n_un = n_ans + int(a.sum()), n_un + int((~a).sum())
        brier += float(((p - y) ** 2).sum())
    return {"answered": answered / n_ans, "abstained": abstained / n_un, "brier": brier / len(dev)}


def select(dev: list[dict[str, Any]], verbose: bool = False) -> tuple[str, ...]:
    """The feature set with the lowest cross-validated Brier score (within dev) among BASE_FEATURES plus up to
    MAX_EXTRA others that include REQUIRED_FEATURE."""
    import itertools

    from qa import confidence

    others = [f for f in confidence.FEATURES if f not in BASE_FEATURES]
    scored = []
    for n in range(1, MAX_EXTRA + 1):
        for extra in itertools.combinations(others, n):
            names = (*BASE_FEATURES, *extra)
            cv = cross_validate(dev, names)
            scored.append((cv["brier"], names))
            if verbose:
                print(
                    f"{'+'.join(names):70} answered {cv['answered']:.3f} abstained {cv['abstained']:.3f} "
                    f"Brier {cv['brier']:.4f}",
                    file=sys.stderr,
                )
    brier, names = min((b, n) for b, n in scored if REQUIRED_FEATURE in n)
    print(f"features {'+'.join(names)}: cross-validated Brier {brier:.4f}", file=sys.stderr)
    return names


def main(argv: list[str] | None = None) -> int:
    from index.embed import load_embedder
    from qa import confidence
    from qa.evaluate import load_gold

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="store the fit in qa/confidence.json")
    ap.add_argument("--cache", default="/tmp/citeqa-calibrate", help="where the gold corpora are indexed")
    ap.add_argument("--rows", help="also write the per-question rows (JSON) here")
    ap.add_argument("--select", action="store_true", help="print every cross-validated feature set")
    args = ap.parse_args(argv)
    embedder = load_embedder()
    rows: list[dict[str, Any]] = []
    for name, corpus, gold in GOLD_SETS:
        engine = engine_for(corpus, Path(args.cache) / name, embedder)
        extra = gold.with_name(DEV_EXTRA)
        questions = load_gold(gold) + ([q for q in load_gold(extra) if q.split == "dev"] if extra.exists() else [])
        rows += [{**r, "set": name} for r in collect(engine, questions)]
    if args.rows:
        Path(args.rows).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    dev = [r for r in rows if r["split"] == "dev"]
    names = select(dev, verbose=args.select)
    x = np.array([confidence.vector(r["features"], names) for r in dev], dtype=np.float64)
    y = np.array([1.0 if r["hit"] else 0.0 for r in dev])
    intercept, weights = fit(x, y)
    params = {"intercept": intercept, "weights": [float(w) for w in weights], "features": list(names)}
    probs = np.array([confidence.probability(r["features"], params) for r in dev])
    answerable = np.array([r["answerable"] for r in dev])
    threshold = choose_threshold(probs, answerable)
    answered = probs >= threshold
    brier = float(np.mean((probs - y) ** 2))
    print(
        f"dev: {len(dev)} questions ({int(answerable.sum())} answerable), {int(y.sum())} right answers", file=sys.stderr
    )
    print(f"weights {dict(zip(names, np.round(weights, 3)))} intercept {intercept:.3f}", file=sys.stderr)
    print(
        f"threshold {threshold:.4f}: answerable answered {answered[answerable].mean():.3f}, unanswerable abstained "
        f"{(~answered[~answerable]).mean():.3f}, right and answered {(answered & (y > 0))[answerable].mean():.3f}; "
        f"Brier {brier:.4f}",
        file=sys.stderr,
    )
    model = {
        **params,
        "threshold": round(threshold, 4),
        "fitted_on": "dev halves (odd ids) of tests/gold and tests/gold2 with their dev_extra.jsonl, by bench/calibrate.py",
        "dev_questions": len(dev),
        "dev_brier": round(brier, 4),
    }
    if args.write:
        confidence.MODEL_FILE.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {confidence.MODEL_FILE}", file=sys.stderr)
    else:
        print(json.dumps(model, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
