"""Search relevance, on whichever database the suite runs on (SQLite FTS5 or PostgreSQL)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.conftest import Clock
from tests.web.helpers import publish


async def _titles(client: TestClient, q: str) -> list[str]:
    response = await client.get("/api/v1/briefs", params={"q": q})
    assert response.status == 200, await response.text()
    return [b["title"] for b in (await response.json())["items"]]


async def test_title_match_ranks_above_one_mention_in_the_summary(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(
        client,
        publisher,
        title="Escalation in Wirral",
        summary="Practitioners did not escalate. Bruising was seen once on the child.",
        learning_points=["Use the escalation policy."],
    )
    clock.advance(hours=1)  # the newer brief would come first on date alone
    await publish(
        client,
        publisher,
        title="Bruising in non-mobile babies",
        summary="A baby of four months was seen by a GP.",
        learning_points=["Refer every non-mobile baby."],
    )
    assert await _titles(client, "bruising") == [
        "Bruising in non-mobile babies",
        "Escalation in Wirral",
    ]


async def test_stemming(client: TestClient, publisher: dict[str, str]) -> None:
    points = {"learning_points": ["Think family."]}
    await publish(client, publisher, title="Safe sleep advice", summary="Co-sleep.", **points)
    await publish(client, publisher, title="Hidden men", summary="Fathers not asked.", **points)
    assert await _titles(client, "sleeping") == ["Safe sleep advice"]
    assert await _titles(client, "fathers asking") == ["Hidden men"]


async def test_phrases_exclusion_and_learning_points(
    client: TestClient, publisher: dict[str, str]
) -> None:
    await publish(client, publisher, title="One", summary="A child protection plan was made.")
    await publish(
        client,
        publisher,
        title="Two",
        summary="The plan did not protect the child at clinic.",
        learning_points=["Ask why the child was not seen."],
    )
    assert await _titles(client, '"child protection plan"') == ["One"]
    assert sorted(await _titles(client, "child -clinic")) == ["One"]
    assert await _titles(client, "seen") == ["Two"]


async def test_search_index_follows_edits_and_withdrawals(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief_id = await publish(client, publisher, title="Original wording", summary="Nothing else.")
    assert await _titles(client, "wording") == ["Original wording"]
    await client.patch(
        f"/api/v1/briefs/{brief_id}", json={"title": "Revised phrasing"}, headers=publisher
    )
    assert await _titles(client, "wording") == []
    assert await _titles(client, "phrasing") == ["Revised phrasing"]
    await client.post(f"/api/v1/briefs/{brief_id}/withdraw", headers=publisher)
    assert await _titles(client, "phrasing") == []
