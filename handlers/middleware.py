"""Security headers and request metrics, applied to every response."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from service.keys import settings_key

metrics_key = web.AppKey("metrics", CollectorRegistry)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    if request.app[settings_key].base_url.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def setup_metrics(app: web.Application) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "learnhub_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "learnhub_http_request_seconds", "HTTP request latency", ["route"], registry=registry
    )
    app[metrics_key] = registry

    @web.middleware
    async def measure(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        response: web.StreamResponse = await handler(request)
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        requests.labels(request.method, name, str(response.status)).inc()
        latency.labels(name).observe(time.perf_counter() - started)
        return response

    app.middlewares.insert(0, measure)  # outermost, so that errors are counted too
    app.router.add_get("/metrics", _metrics)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[metrics_key])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
