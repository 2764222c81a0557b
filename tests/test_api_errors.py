"""Bad input gets the contract's JSON error, and nothing is written."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from service.briefs.models import Brief
from tests.briefs_data import brief_body


async def _error(response: Any, status: int) -> dict[str, Any]:
    body = await response.json()
    assert response.status == status, body
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return body["error"]


async def _count(sessions: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Brief)))


async def test_malformed_json_is_400(
    client: TestClient, publisher: dict[str, str], sessions: Any
) -> None:
    headers = {**publisher, "Content-Type": "application/json"}
    response = await client.post("/api/v1/briefs", data=b'{"title": ', headers=headers)
    assert (await _error(response, 400))["code"] == "bad_json"
    assert await _count(sessions) == 0
    blank = await client.post("/api/v1/briefs", data=b"\n ", headers=headers)
    assert (await _error(blank, 400))["code"] == "bad_json"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_a_body_not_sent_as_json_is_415(
    client: TestClient, publisher: dict[str, str], sessions: Any, content_type: str
) -> None:
    headers = {**publisher, "Content-Type": content_type}
    body = json.dumps(brief_body()).encode()
    response = await client.post("/api/v1/briefs", data=body, headers=headers)
    error = await _error(response, 415)
    assert error["code"] == "unsupported_media_type" and content_type in error["message"]
    assert await _count(sessions) == 0


async def test_json_by_another_name_and_empty_bodies_are_read(
    client: TestClient, publisher: dict[str, str]
) -> None:
    headers = {**publisher, "Content-Type": "application/vnd.learnhub+json; charset=utf-8"}
    body = json.dumps(brief_body()).encode()
    created = await client.post("/api/v1/briefs", data=body, headers=headers)
    assert created.status == 201, await created.text()
    brief_id = (await created.json())["id"]
    published = await client.post(f"/api/v1/briefs/{brief_id}/publish", headers=publisher)
    assert published.status == 200, await published.text()


async def test_unknown_fields_and_wrong_types_are_422_naming_each(
    client: TestClient, publisher: dict[str, str], sessions: Any
) -> None:
    body = brief_body(colour="red", learning_points="not a list", audience="everyone")
    body["source"]["published_on"] = "14 March"
    error = await _error(await client.post("/api/v1/briefs", json=body, headers=publisher), 422)
    fields = {d["field"] for d in error["details"]}
    assert fields == {"colour", "learning_points", "audience", "source.published_on"}
    assert await _count(sessions) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Line one\r\nBcc: victim@example.org"),
        ("title", ""),
        ("title", "x" * 301),
        ("summary", "nul \x00 byte"),
        ("learning_points", []),
    ],
)
async def test_hostile_or_empty_fields_are_422(
    client: TestClient, publisher: dict[str, str], field: str, value: Any
) -> None:
    response = await client.post(
        "/api/v1/briefs", json=brief_body(**{field: value}), headers=publisher
    )
    assert [d["field"] for d in (await _error(response, 422))["details"]] == [field]


async def test_unknown_codes_are_422_listing_valid_ones(
    client: TestClient, publisher: dict[str, str]
) -> None:
    body = brief_body(themes=["neglect", "nelgect"], agencies=["polce"])
    error = await _error(await client.post("/api/v1/briefs", json=body, headers=publisher), 422)
    assert error["details"]["themes"]["unknown"] == ["nelgect"]
    assert "neglect" in error["details"]["themes"]["valid"]
    assert error["details"]["agencies"]["unknown"] == ["polce"]


async def test_significant_update_needs_a_change_note(
    client: TestClient, publisher: dict[str, str]
) -> None:
    created = await (
        await client.post("/api/v1/briefs", json=brief_body(), headers=publisher)
    ).json()
    response = await client.patch(
        f"/api/v1/briefs/{created['id']}", json={"significant": True}, headers=publisher
    )
    assert "change_note" in (await _error(response, 422))["details"][0]["message"]


async def test_body_over_one_mebibyte_is_413(
    client: TestClient, publisher: dict[str, str], sessions: Any
) -> None:
    body = io.BytesIO(json.dumps(brief_body(summary="x" * (1024 * 1024))).encode())
    headers = {**publisher, "Content-Type": "application/json"}
    response = await client.post("/api/v1/briefs", data=body, headers=headers)
    assert (await _error(response, 413))["code"] == "too_large"
    assert await _count(sessions) == 0


@pytest.mark.parametrize("brief_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
async def test_unknown_id_is_404(
    client: TestClient, publisher: dict[str, str], brief_id: str
) -> None:
    await _error(await client.get(f"/api/v1/briefs/{brief_id}"), 404)
    await _error(await client.post(f"/api/v1/briefs/{brief_id}/publish", headers=publisher), 404)


async def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert (await _error(await client.get("/api/v1/nothing"), 404))["code"] == "not_found"
    response = await client.delete("/api/v1/briefs")
    await _error(response, 405)
    assert "GET" in response.headers["Allow"]


async def test_staff_routes_need_a_valid_token_of_the_right_role(
    client: TestClient, publisher: dict[str, str], admin: dict[str, str]
) -> None:
    response = await client.post("/api/v1/briefs", json=brief_body())
    await _error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    await _error(
        await client.post(
            "/api/v1/briefs", json=brief_body(), headers={"Authorization": "Bearer lh_forged"}
        ),
        401,
    )
    new_staff = {"email": "analyst@knowsley.gov.uk", "role": "publisher"}
    await _error(await client.post("/api/v1/staff", json=new_staff, headers=publisher), 403)
    created = await client.post("/api/v1/staff", json=new_staff, headers=admin)
    token = (await created.json())["token"]
    assert created.status == 201
    ok = await client.post(
        "/api/v1/briefs", json=brief_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.status == 201
    await _error(await client.post("/api/v1/staff", json=new_staff, headers=admin), 409)


async def test_bad_list_queries_are_400(client: TestClient) -> None:
    for query, mentioned in [
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("colour=red", "colour"),
        ("theme=nelgect", "nelgect"),
        ("cursor=%%%", "cursor"),
    ]:
        error = await _error(await client.get(f"/api/v1/briefs?{query}"), 400)
        assert mentioned in str(error), (query, error)


async def test_errors_carry_security_headers(client: TestClient) -> None:
    response = await client.get("/nowhere")
    assert response.status == 404
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
