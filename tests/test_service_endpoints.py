"""Probes, the OpenAPI description and metrics."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from tests.briefs_data import brief_body


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
