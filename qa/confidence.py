"""Answer features -> the probability that the answer is right, and that probability in words.

    probability({"cos": 0.62, "coverage": 0.8, "typed": 1, "type_found": 1, ...}) -> 0.87
    label(0.87) -> "likely"

A logistic model over a few features of the chosen sentence, fitted by `bench/calibrate.py` on the dev halves
of both gold sets (label: the answer sentence covers the gold evidence; an unanswerable question's answer is
always wrong) and stored in `qa/confidence.json` with the threshold chosen on the same dev halves.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_FILE = Path(__file__).with_name("confidence.json")
# The features a model may read; the fitted model names its own (confidence.json "features"), chosen on the dev
# halves by two-fold cross-validation (lowest Brier score among the sets that include the typed-phrase evidence);
# see bench/calibrate.py and docs/QUALITY.md.
FEATURES = (
    "cos",
    "coverage",
    "margin",
    "typed_missing",
    "typed_found",
    "number_missing",
    "top_passage",
    "passage_coverage",
    "unseen",
    "top_dense",
)
LIKELY = 0.6  # "likely" at or above 0.6; "unlikely" below the threshold (withheld); "uncertain" between


def vector(features: dict[str, float], names: tuple[str, ...] | list[str] | None = None) -> list[float]:
    """The model's inputs, in the order of `names` (default: the fitted model's), from the features `choose`
    reports: cos (the sentence's cosine with the question), coverage (idf-weighted share of the question's terms
    in it and its context), margin (its lead over the runner-up sentence), typed_missing (1 when the question is
    typed, when/how much/who/..., but the answer holds no phrase of that kind), typed_found, number_missing (1 when
    a number the question names, "4.0", "2019", is not in the answer's passage), top_passage (1 when the answer is
    in the top-ranked passage), passage_coverage, unseen (idf share of question terms no document holds), top_dense."""
    derived = {
        **features,
        "typed_missing": features.get("typed", 0.0) * (1.0 - features.get("type_found", 0.0)),
        "typed_found": features.get("typed", 0.0) * features.get("type_found", 0.0),
    }
    return [float(derived.get(name, 0.0)) for name in (names if names is not None else model()["features"])]


@lru_cache(maxsize=1)
def model() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    return loaded


def probability(features: dict[str, float], params: dict[str, Any] | None = None) -> float:
    p = params or model()
    z = p["intercept"] + sum(w * x for w, x in zip(p["weights"], vector(features, p["features"]), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def threshold() -> float:
    return float(model()["threshold"])


def label(prob: float, cutoff: float | None = None) -> str:
    """Words for a probability: an answer citeqa gives is "likely" or "uncertain", never "unlikely"."""
    return (
        "likely"
        if prob >= LIKELY
        else ("uncertain" if prob >= (threshold() if cutoff is None else cutoff) else "unlikely")
    )
