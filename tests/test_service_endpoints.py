"""Probes, the OpenAPI description and metrics."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from pydantic import SecretStr

from learnhub.app import create_app
from service.settings import Settings
from tests.briefs_data import brief_body
from tests.conftest import Clock


async def test_health_and_readiness(client: TestClient) -> None:
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["database"] == "ok"


async def test_openapi_is_valid_and_generated_from_the_models(client: TestClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    validate(document)
    create = document["paths"]["/api/v1/briefs"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    brief_create = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(brief_body()) <= set(brief_create["properties"])
    assert brief_create["additionalProperties"] is False
    assert create["security"] == [{"staffToken": []}]
    listed = {p["name"] for p in document["paths"]["/api/v1/briefs"]["get"]["parameters"]}
    assert listed == {"theme", "agency", "borough", "q", "cursor", "limit"}


async def test_metrics_count_requests(client: TestClient) -> None:
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    assert 'learnhub_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text


async def test_metrics_time_requests_by_route(client: TestClient) -> None:
    for _ in range(3):
        await client.get("/healthz")
    await client.get("/nowhere")
    text = await (await client.get("/metrics")).text()
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    route = 'route="/healthz"'
    # Cumulative buckets: none above the last, all three at +Inf; a sum of real seconds.
    buckets = [
        float(v)
        for k, v in lines.items()
        if k.startswith("learnhub_http_request_seconds_bucket") and route in k
    ]
    assert len(buckets) == 15 and buckets == sorted(buckets) and buckets[-1] == 3.0, buckets
    assert lines[f'learnhub_http_request_seconds_bucket{{le="+Inf",{route}}}'] == "3.0"
    assert lines[f"learnhub_http_request_seconds_count{{{route}}}"] == "3.0"
    assert 0 < float(lines[f"learnhub_http_request_seconds_sum{{{route}}}"]) < 3
    assert (
        lines['learnhub_http_requests_total{method="GET",route="unmatched",status="404"}'] == "1.0"
    )


async def test_metrics_are_for_operators_only(
    aiohttp_client: Any, settings: Settings, clock: Clock, engine: Any
) -> None:
    """/metrics was public, and its counters moved with restricted publications."""
    local = await aiohttp_client(create_app(settings, clock=clock))
    assert (await local.get("/metrics")).status == 200  # a scraper on this machine
    proxied = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status == 404  # through a proxy on this machine: anyone at all
    secret = settings.model_copy(update={"metrics_token": SecretStr("scrape-me")})
    guarded = await aiohttp_client(create_app(secret, clock=clock))
    assert (await guarded.get("/metrics")).status == 404
    wrong = await guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 404
    right = await guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert right.status == 200 and "learnhub_http_requests" in await right.text()
