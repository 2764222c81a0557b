"""A brief's tags over HTTP: weights, what is suggested and applied, "also mentioned", boroughs
from the board, and the publishers' corrections recorded for the report (issue 20)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs.corrections import report
from service.briefs.models import TagCorrection
from tests.briefs_data import brief_body

SEED = Path(__file__).parent / "data" / "seed" / "child-r-scr-kscb-response.txt"


async def _json(response: Any, status: int) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _create(client: TestClient, headers: dict[str, str], **fields: Any) -> Any:
    body = brief_body(**fields)
    return await _json(await client.post("/api/v1/briefs", json=body, headers=headers), 201)


async def _corrections(sessions: async_sessionmaker[AsyncSession]) -> set[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(TagCorrection))
        return {(row.facet, row.code, row.action) for row in rows}


def long_review() -> dict[str, Any]:
    return {
        "title": "Child R: what the board has done",
        "summary": SEED.read_text(encoding="utf-8"),
        "learning_points": ["Be clear with parents about written agreements."],
        "source": {"review": "Child R", "board": "Knowsley Safeguarding Children Board"},
    }


async def test_only_suggested_tags_are_applied_the_rest_are_also_mentioned(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief = await _create(client, publisher, **long_review())
    tagging = brief["tagging"]
    assert brief["themes"] == sorted(t["code"] for t in tagging["themes"])
    assert {"neglect", "domestic-abuse", "safer-sleep"} <= set(brief["themes"])
    assert len(brief["themes"]) <= 7
    for tag in tagging["themes"]:
        assert tag["source"] == "auto" and tag["suggested"] is True
        assert 0 < tag["weight"] <= 1 and tag["evidence"]
    also = {t["code"]: t for t in tagging["also_mentioned"]["themes"]}
    assert {"exploitation", "parental-substance-misuse"} <= also.keys()
    assert not also.keys() & set(brief["themes"])
    survey = also["parental-substance-misuse"]
    assert survey["weight"] < 0.4 and survey["evidence"][0]["text"] == "substance misuse"
    # Only applied codes find the brief: what is only mentioned is not a filter match.
    listed = await _json(
        await client.get("/api/v1/briefs?theme=exploitation", headers=publisher), 200
    )
    assert listed["items"] == []


async def test_the_board_gives_the_borough(client: TestClient, publisher: dict[str, str]) -> None:
    brief = await _create(
        client,
        publisher,
        summary="The baby was found unresponsive after co-sleeping on the sofa.",
        source={"review": "Baby Q", "board": "St Helens Safeguarding Children Partnership"},
    )
    assert brief["boroughs"] == ["st-helens"]
    [tag] = brief["tagging"]["boroughs"]
    assert tag["evidence"] == [
        {"text": "St Helens", "start": 0, "end": 9, "field": "source.board", "score": 1.0}
    ]
    assert (tag["source"], tag["suggested"], tag["weight"]) == ("auto", True, 1.0)


async def test_suggest_takes_a_brief_s_fields_and_its_source(
    client: TestClient, publisher: dict[str, str]
) -> None:
    body = {
        "title": "Neglect: Child N",
        "summary": "Home conditions were poor. The school noticed.",
        "learning_points": ["Use the Graded Care Profile."],
        "source": {"board": "Wirral Safeguarding Children Partnership"},
    }
    tags = await _json(
        await client.post("/api/v1/tagging/suggest", json=body, headers=publisher), 200
    )
    neglect = tags["themes"][0]
    assert neglect["code"] == "neglect" and neglect["weight"] == 1.0 and neglect["suggested"]
    assert neglect["score"] == 2.0 + 1.0 + 1.5  # title, summary, learning point
    assert [b["code"] for b in tags["boroughs"]] == ["wirral"]
    bad = {"text": "x", "source": {"board": "W", "colour": "red"}}
    assert (await client.post("/api/v1/tagging/suggest", json=bad, headers=publisher)).status == 422


async def test_a_publisher_code_the_tagger_did_not_find_weighs_nothing(
    client: TestClient, publisher: dict[str, str]
) -> None:
    brief = await _create(client, publisher, themes=["safer-sleep", "identity-and-culture"])
    tags = {t["code"]: t for t in brief["tagging"]["themes"]}
    assert tags["identity-and-culture"]["weight"] == 0.0
    assert tags["identity-and-culture"]["suggested"] is False
    assert tags["identity-and-culture"]["evidence"] == []
    assert tags["safer-sleep"]["source"] == "publisher" and tags["safer-sleep"]["suggested"]


async def test_publisher_corrections_are_recorded_and_kept_up_to_date(
    client: TestClient, publisher: dict[str, str], sessions: Any
) -> None:
    auto = await _create(client, publisher)
    assert await _corrections(sessions) == set()  # the tagger's choice, untouched
    suggested = set(auto["themes"])
    assert {"safer-sleep", "parental-mental-health"} <= suggested

    chosen = sorted((suggested - {"parental-mental-health"}) | {"voice-of-the-child"})
    brief = await _create(client, publisher, themes=chosen)
    assert await _corrections(sessions) == {
        ("themes", "parental-mental-health", "removed"),
        ("themes", "voice-of-the-child", "added"),
    }
    async with sessions() as session:
        removed = await session.scalar(
            select(TagCorrection).where(TagCorrection.code == "parental-mental-health")
        )
        assert removed is not None
        assert [e["text"] for e in removed.evidence] == ["Mother had a history of **depression"]
        assert removed.tagger_weight is not None and removed.text.startswith("Safer sleep")
        first_recorded = removed.recorded_at

    url = f"/api/v1/briefs/{brief['id']}"
    # The same choice again: the corrections stand, first recorded when they were.
    edit = {"title": "Safer sleep: Baby T", "themes": chosen}
    await _json(await client.patch(url, json=edit, headers=publisher), 200)
    async with sessions() as session:
        again = await session.scalar(
            select(TagCorrection).where(TagCorrection.code == "parental-mental-health")
        )
        assert again is not None and again.recorded_at == first_recorded and again.revision == 2
    # The publisher comes round to the tagger on one code: that correction goes.
    agreed = sorted(set(chosen) | {"parental-mental-health"})
    await _json(await client.patch(url, json={"themes": agreed}, headers=publisher), 200)
    assert await _corrections(sessions) == {("themes", "voice-of-the-child", "added")}
    # An edit that leaves the facet alone changes nothing recorded.
    await _json(await client.patch(url, json={"summary": "Neglect."}, headers=publisher), 200)
    assert await _corrections(sessions) == {("themes", "voice-of-the-child", "added")}

    async with sessions() as session:
        found = await report(session, limit=10)
    assert (found.corrections, found.briefs) == (1, 1)
    [code] = found.codes
    assert (code.code, code.added, code.removed) == ("voice-of-the-child", 1, 0)
    assert [u.code for u in found.unfound] == ["voice-of-the-child"]
