"""Latency summaries for the benchmark sections."""

from __future__ import annotations


def percentiles(values: list[float], ps: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ..., "p95": ..., "p99": ...} by nearest rank; empty input gives NaN."""
    if not values:
        return {f"p{p}": float("nan") for p in ps}
    s = sorted(values)
    return {f"p{p}": s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))] for p in ps}
