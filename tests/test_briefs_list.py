"""The public list: newest first, filters, cursors, and restricted briefs kept out."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.briefs_data import brief_body
from tests.conftest import Clock


async def _publish(client: TestClient, headers: dict[str, str], clock: Clock, **fields: Any) -> str:
    clock.advance(minutes=1)
    created = await (
        await client.post("/api/v1/briefs", json=brief_body(**fields), headers=headers)
    ).json()
    response = await client.post(f"/api/v1/briefs/{created['id']}/publish", headers=headers)
    assert response.status == 200, await response.text()
    return str(created["id"])


async def test_cursor_pages_newest_first_without_gaps(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    ids = [await _publish(client, publisher, clock, title=f"Brief {n}") for n in range(7)]
    seen, cursor = [], None
    while True:
        query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"/api/v1/briefs?{query}")).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_filters_or_within_and_across_with_parent_codes(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    gp = await _publish(
        client, publisher, clock, themes=["neglect"], agencies=["primary-care"], boroughs=["wirral"]
    )
    police = await _publish(
        client,
        publisher,
        clock,
        themes=["domestic-abuse"],
        agencies=["police"],
        boroughs=["knowsley"],
    )

    async def ids(query: str) -> set[str]:
        response = await client.get(f"/api/v1/briefs?{query}")
        assert response.status == 200, await response.text()
        return {item["id"] for item in (await response.json())["items"]}

    merseyside = await _publish(
        client, publisher, clock, title="Region-wide", themes=["neglect"], agencies=[], boroughs=[]
    )
    assert await ids("agency=health") == {gp}
    assert await ids("borough=wirral") == {gp, merseyside}  # no borough: all of Merseyside
    assert await ids("theme=neglect&theme=domestic-abuse") == {gp, police, merseyside}
    assert await ids("theme=neglect&borough=knowsley") == {merseyside}
    assert await ids("theme=domestic-abuse&borough=knowsley&agency=police") == {police}
    assert await ids("") == {gp, police, merseyside}


async def test_restricted_briefs_never_appear_publicly(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    restricted = await _publish(client, publisher, clock, audience="practitioners")
    public = await _publish(client, publisher, clock)
    listed = {item["id"] for item in (await (await client.get("/api/v1/briefs")).json())["items"]}
    assert listed == {public}
    assert (await client.get(f"/api/v1/briefs/{restricted}")).status == 404
    assert (await client.get(f"/api/v1/briefs/{restricted}", headers=publisher)).status == 200
