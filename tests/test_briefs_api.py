"""A brief's life over HTTP, and the events each step writes to the outbox."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.events.models import Event
from tests.briefs_data import brief_body
from tests.conftest import Clock


async def _json(response: Any, status: int) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _events(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = await session.scalars(select(Event).order_by(Event.id))
        return [(e.type, e.revision) for e in rows]


async def test_full_lifecycle_writes_events(
    client: TestClient, publisher: dict[str, str], sessions: Any, clock: Clock
) -> None:
    brief = await _json(
        await client.post("/api/v1/briefs", json=brief_body(), headers=publisher), 201
    )
    assert brief["status"] == "draft" and brief["revision"] == 1
    assert "safer-sleep" in brief["themes"] and "sefton" in brief["boroughs"]
    tagged = brief["tagging"]["themes"]
    assert tagged and all(t["source"] == "auto" and t["evidence"] for t in tagged)
    url = f"/api/v1/briefs/{brief['id']}"
    assert (await client.get(url)).status == 404  # a draft is not public
    assert (await client.get(url, headers=publisher)).status == 200
    assert await _events(sessions) == []

    clock.advance(minutes=5)
    published = await _json(await client.post(url + "/publish", headers=publisher), 200)
    assert published["status"] == "published"
    assert published["published_at"].startswith("2026-11-23T09:05")
    assert (await _json(await client.get(url), 200))["id"] == brief["id"]

    minor = await _json(
        await client.patch(url, json={"title": "Safer sleep: Baby T"}, headers=publisher), 200
    )
    assert minor["revision"] == 2
    significant = {
        "learning_points": ["Ask about sleep at every visit."],
        "significant": True,
        "change_note": "Learning points revised after the partnership's audit.",
    }
    updated = await _json(await client.patch(url, json=significant, headers=publisher), 200)
    assert updated["revision"] == 3

    withdrawal = {"note": "Superseded", "reason": "A newer review replaces it."}
    await _json(await client.post(url + "/withdraw", json=withdrawal, headers=publisher), 200)
    gone = await _json(await client.get(url), 410)
    assert gone["error"]["code"] == "gone"
    assert "Superseded" not in str(gone)  # the internal note stays in the history
    edit = await client.patch(url, json={"title": "New"}, headers=publisher)
    assert (await _json(edit, 409))["error"]["code"] == "conflict"
    assert (await client.post(url + "/publish", headers=publisher)).status == 409

    await _json(await client.post(url + "/restore", headers=publisher), 200)
    again = await _json(await client.post(url + "/publish", headers=publisher), 200)
    assert again["published_at"] == published["published_at"]  # first publication stands
    assert (again["publication"], again["withdrawn_at"], again["withdrawn_reason"]) == (
        2,
        None,
        None,
    )

    assert await _events(sessions) == [
        ("brief.published", 1),
        ("brief.edited", 2),
        ("brief.updated", 3),
        ("brief.withdrawn", 3),
        ("brief.published", 3),
    ]


async def test_event_payloads_and_history(
    client: TestClient, publisher: dict[str, str], sessions: Any
) -> None:
    brief = await _json(
        await client.post("/api/v1/briefs", json=brief_body(), headers=publisher), 201
    )
    url = f"/api/v1/briefs/{brief['id']}"
    await client.post(url + "/publish", headers=publisher)
    await client.patch(
        url,
        json={
            "summary": brief["summary"] + " Revised.",
            "significant": True,
            "change_note": "Summary corrected",
        },
        headers=publisher,
    )
    async with sessions() as session:
        update = await session.scalar(select(Event).where(Event.type == "brief.updated"))
    assert update is not None
    assert update.payload == {
        "change_note": "Summary corrected",
        "changes": ["summary"],
        "publication": 1,
    }
    history = await _json(await client.get(url + "/history", headers=publisher), 200)
    assert [h["action"] for h in history["items"]] == ["create", "publish", "edit"]
    assert history["items"][2] == {
        **history["items"][2],
        "revision": 2,
        "significant": True,
        "change_note": "Summary corrected",
        "changes": ["summary"],
        "staff": "publisher@merseyside.police.uk",
    }


async def test_lifecycle_moves_that_are_not_allowed(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief = await _json(
        await client.post("/api/v1/briefs", json=brief_body(), headers=publisher), 201
    )
    url = f"/api/v1/briefs/{brief['id']}"
    for move in ("withdraw", "restore"):
        assert (await client.post(f"{url}/{move}", headers=publisher)).status == 409
    significant = {"title": "x", "significant": True, "change_note": "why"}
    assert (await client.patch(url, json=significant, headers=publisher)).status == 409
    await client.post(url + "/publish", headers=publisher)
    assert (await client.post(url + "/publish", headers=publisher)).status == 409


async def test_publisher_tags_are_kept_and_survive_retagging(
    client: TestClient, publisher: dict[str, str]
) -> None:
    body = brief_body(themes=["neglect"], boroughs=[])
    brief = await _json(await client.post("/api/v1/briefs", json=body, headers=publisher), 201)
    assert brief["themes"] == ["neglect"] and brief["boroughs"] == []
    assert brief["tagging"]["themes"][0]["source"] == "publisher"
    assert "health-visiting" in brief["agencies"]  # the facet left out was tagged automatically
    url = f"/api/v1/briefs/{brief['id']}"
    edit = {"summary": "A Wirral case: the police were called to domestic abuse at the home."}
    edited = await _json(await client.patch(url, json=edit, headers=publisher), 200)
    assert edited["themes"] == ["neglect"] and edited["boroughs"] == []
    assert "police" in edited["agencies"] and "health-visiting" not in edited["agencies"]


async def test_summary_markdown_is_rendered_and_sanitised(
    client: TestClient, publisher: dict[str, str]
) -> None:
    summary = (
        "**Bold** <script>alert(1)</script> [bad](javascript:alert(1)) "
        "[good](https://example.org) <img src=x onerror=alert(1)>"
    )
    brief = await _json(
        await client.post("/api/v1/briefs", json=brief_body(summary=summary), headers=publisher),
        201,
    )
    html = brief["summary_html"]
    assert "<strong>Bold</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">good</a>' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
