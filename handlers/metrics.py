"""Request metrics for operators: requests by route and status, and their latency.

Counted in plain dictionaries on the event loop and turned into Prometheus families only
when ``GET /metrics`` is read: prometheus_client's labelled instruments take a lock and
build their key on every call (3 µs a request, a tenth of serving a cached feed), which a
single-threaded server need not pay. The names and labels are those of the Counter and
Histogram they replaced.
"""

from __future__ import annotations

import hmac
import time
from bisect import bisect_left
from collections.abc import Iterator
from ipaddress import ip_address
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from learnhub.keys import settings_key

metrics_key = web.AppKey("metrics", CollectorRegistry)
BOUNDS = tuple(b for b in Histogram.DEFAULT_BUCKETS if b != float("inf"))


class RequestMetrics(Collector):
    """Counts by (method, route, status) and a latency histogram by route."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        # route -> a count per bound, one more for above the last, and the sum of seconds
        self._latency: dict[str, list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        counts = self._latency.get(route)
        if counts is None:
            counts = self._latency[route] = [0.0] * (len(BOUNDS) + 2)
        counts[bisect_left(BOUNDS, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "learnhub_http_requests", "HTTP requests", labels=["method", "route", "status"]
        )
        for (method, route, status), count in sorted(self._requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "learnhub_http_request_seconds", "HTTP request latency", labels=["route"]
        )
        for route, counts in sorted(self._latency.items()):
            cumulative, buckets = 0.0, list[tuple[str, float]]()
            for bound, seen in zip((*BOUNDS, float("inf")), counts[:-1], strict=True):
                cumulative += seen
                buckets.append((_le(bound), cumulative))
            latency.add_metric([route], buckets, sum_value=counts[-1])
        yield latency


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def setup_metrics(app: web.Application) -> None:
    registry = CollectorRegistry()
    metrics = RequestMetrics()
    registry.register(metrics)
    app[metrics_key] = registry
    observe, clock = metrics.observe, time.perf_counter

    @web.middleware
    async def measure(request: web.Request, handler: Any) -> web.StreamResponse:
        started = clock()
        response: web.StreamResponse = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        observe(request.method, route, response.status, clock() - started)
        return response

    app.middlewares.insert(0, measure)  # outermost, so that errors are counted too
    app.router.add_get("/metrics", _metrics)


def _operator(request: web.Request) -> bool:
    """Whether the caller may read the metrics (LEARNHUB_METRICS_TOKEN, else loopback)."""
    token = request.app[settings_key].metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        sent = given.encode(errors="surrogateescape")  # a header need not be UTF-8
        return hmac.compare_digest(sent, token.get_secret_value().encode())
    proxied = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    try:
        return not proxied and ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def _metrics(request: web.Request) -> web.Response:
    if not _operator(request):
        raise web.HTTPNotFound()  # to others, as if there were no metrics at all
    body = generate_latest(request.app[metrics_key])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
