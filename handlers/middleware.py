"""Security headers, request metrics and the client's address behind a trusted proxy."""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from learnhub.keys import settings_key

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


def forwarded_client(trusted: Sequence[IPv4Network | IPv6Network]) -> Middleware:
    """Behind trusted reverse proxies, the client is the right-most address of
    X-Forwarded-For that is not one of them (what nginx's real_ip_recursive does); from any
    other peer the header is ignored, so nobody can pick their own address to dodge the abuse
    limits. Proxies append to the header, so anything a client wrote there sits to the left.
    """

    def parsed(address: str) -> IPv4Address | IPv6Address | None:
        try:
            return ip_address(address)
        except ValueError:
            return None

    def is_trusted(address: IPv4Address | IPv6Address | None) -> bool:
        return address is not None and any(address in network for network in trusted)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        client = request.remote
        if client is None or not is_trusted(parsed(client)):
            return await handler(request)
        hops = [
            a.strip() for h in request.headers.getall("X-Forwarded-For", []) for a in h.split(",")
        ]
        for hop in reversed(hops):
            address = parsed(hop)
            if address is None:
                break  # not an address: trust nothing to its left
            client = hop
            if not is_trusted(address):
                break
        return await handler(request.clone(remote=client))

    return middleware


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
