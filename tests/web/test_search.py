"""Search in the sector's words (issue 21, part 1): a query is widened with the taxonomy's own
phrases, abbreviations and variants ("DV", "domestic violence" -> domestic abuse; "safe sleep"
-> safer sleep; "CSE" -> exploitation; "HV" -> health visiting), stemmed ("neglected" finds
neglect), ranked with the title and learning points first, and the page says when it widened
the query. The API's q finds the same; both databases."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Clock
from tests.web.helpers import practitioner_cookie, publish
from tests.web.test_site import titles

POINTS = ["Ask who else lives in the home."]


async def _briefs(client: TestClient, publisher: dict[str, str]) -> None:
    for title, summary, points in (
        ("Baby T", "Baby T died while co-sleeping with a parent on a sofa.", POINTS),
        ("Child W", "Mother had been a victim of domestic abuse for years.", POINTS),
        ("Child N", "The children were neglected over many months.", POINTS),
        ("Child X", "Child X was groomed and sexually exploited by adults.", POINTS),
        ("Child H", "The health visitor saw the family twice.", POINTS),
        ("Child F", "Father was not known to services.", POINTS),
        ("Child M", "Mother moved house four times.", POINTS),
    ):
        await publish(client, publisher, title=title, summary=summary, learning_points=points)


@pytest.mark.parametrize(
    ("query", "found", "meaning"),
    [
        ("safe sleep", ["Baby T"], "Safer sleep"),
        ("domestic violence", ["Child W"], "Domestic abuse"),
        ("DV", ["Child W"], "Domestic abuse"),
        ("dv", ["Child W"], "Domestic abuse"),
        ("CSE", ["Child X"], "Exploitation and risks outside the family"),
        ("HV", ["Child H"], "Health visiting and school nursing"),
        ("neglected", ["Child N"], "Neglect"),
        ("DV mother", ["Child W"], "Domestic abuse"),
        ("DV father", [], "Domestic abuse"),
    ],
)
async def test_a_query_in_the_sectors_words_finds_the_brief(
    client: TestClient, publisher: dict[str, str], query: str, found: list[str], meaning: str
) -> None:
    await _briefs(client, publisher)
    html = await (await client.get("/", params={"q": query})).text()
    assert titles(html) == found
    assert "Showing results for" in html and meaning in html
    api = await (await client.get("/api/v1/briefs", params={"q": query})).json()
    assert [b["title"] for b in api["items"]] == found


async def test_a_query_outside_the_taxonomy_is_not_widened(
    client: TestClient, publisher: dict[str, str]
) -> None:
    await _briefs(client, publisher)
    html = await (await client.get("/", params={"q": "father"})).text()
    assert titles(html) == ["Child F"]
    assert "Showing results for" not in html
    # Quoted, a phrase is searched as written; excluded, it is not widened either.
    html = await (await client.get("/", params={"q": '"DV"'})).text()
    assert titles(html) == [] and "Showing results for" not in html
    html = await (await client.get("/", params={"q": "died -DV"})).text()
    assert titles(html) == ["Baby T"]


async def test_title_and_learning_points_rank_before_the_summary(
    client: TestClient, publisher: dict[str, str]
) -> None:
    await _briefs(client, publisher)  # others, without the word: a word in every brief ranks none
    # Said once in a short summary, or once in a long learning point: only the learning
    # points' greater weight puts the second first.
    await publish(
        client,
        publisher,
        title="In the summary",
        summary="A caravan.",
        learning_points=POINTS,
    )
    await publish(
        client,
        publisher,
        title="In the learning points",
        summary="The family moved often.",
        learning_points=[
            "Ask about the caravan at every visit, who else stays there, and for how long."
        ],
    )
    await publish(
        client,
        publisher,
        title="The caravan in the title",
        summary="A short one.",
        learning_points=POINTS,
    )
    html = await (await client.get("/", params={"q": "caravans"})).text()
    assert titles(html) == [
        "The caravan in the title",
        "In the learning points",
        "In the summary",
    ]


async def test_a_widened_query_never_finds_a_restricted_brief_for_the_public(
    client: TestClient, publisher: dict[str, str], sessions: Any, clock: Clock
) -> None:
    await _briefs(client, publisher)
    await publish(
        client,
        publisher,
        title="Child Q",
        summary="Domestic violence was known to the police.",
        learning_points=POINTS,
        audience="practitioners",
    )
    for query in ("DV", "domestic abuse", "Child Q DV"):
        html = await (await client.get("/", params={"q": query})).text()
        assert "Child Q" not in titles(html)
        api = await (await client.get("/api/v1/briefs", params={"q": query})).json()
        assert "Child Q" not in [b["title"] for b in api["items"]]
    signed_in = await practitioner_cookie(sessions, "pc@merseyside.police.uk", clock())
    html = await (await client.get("/", params={"q": "DV"}, headers=signed_in)).text()
    assert sorted(titles(html)) == ["Child Q", "Child W"]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("or DV", ["Child W"]),  # a leading "or" is a word, not a search for "or"
        ("DV or", ["Child W"]),
        ("the baby", ["Baby T"]),  # the small words are not required
        ("neglected -the", ["Child N"]),
    ],
)
async def test_small_words_mean_the_same_on_both_databases(
    client: TestClient, publisher: dict[str, str], query: str, found: list[str]
) -> None:
    await _briefs(client, publisher)
    html = await (await client.get("/", params={"q": query})).text()
    assert set(found) <= set(titles(html)), titles(html)


def test_only_the_first_words_of_a_long_query_are_read() -> None:
    """Reading a query looks for the taxonomy's phrases in every run of words: a query of
    hundreds of words (free for anyone to send) is cut to its first MAX_PARTS words first."""
    from service.briefs.query import MAX_PARTS, read
    from service.taxonomy import default_taxonomy

    taxonomy = default_taxonomy()
    query = read("a " * 500 + "DV", taxonomy)
    assert len(query.parts) <= MAX_PARTS
    assert query.widened() == []  # "DV", word 501, was never read
    assert read("a " * 5 + "DV", taxonomy).widened()
