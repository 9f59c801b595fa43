"""Prometheus metrics of one app, in a registry of its own (several apps in one process don't clash).

citeqa_http_requests_total{method,route,status}        requests answered (method: one of METHODS or
                                                       "other", so made-up methods don't explode labels)
citeqa_http_request_duration_seconds{method,route}     latency histogram (route = template, e.g.
                                                       "/v1/documents/{doc_id}", so ids don't explode labels)
citeqa_http_requests_in_flight                         requests being handled now
citeqa_index_documents, citeqa_index_chunks            the live index's size, read at scrape time
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

METHODS = frozenset({"GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT", "PATCH"})  # any other -> "other"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _IndexSize(Collector):
    def __init__(self, health: Callable[[], dict[str, Any]]) -> None:
        self.health = health

    def collect(self) -> Iterator[GaugeMetricFamily]:
        h = self.health()
        yield GaugeMetricFamily("citeqa_index_documents", "Documents in the live index", value=h["documents"])
        yield GaugeMetricFamily("citeqa_index_chunks", "Passages (chunks) in the live index", value=h["chunks"])


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, health: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "citeqa_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "citeqa_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge("citeqa_http_requests_in_flight", "HTTP requests being handled", registry=self.registry)
        self.registry.register(_IndexSize(health))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
