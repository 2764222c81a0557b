"""Public feeds: both formats parse cleanly, entries carry what readers need, filters match
like the list's, restricted briefs stay out, and bad input is refused by name."""

from __future__ import annotations

from typing import Any

import feedparser
import pytest
from aiohttp.test_utils import TestClient

from tests.briefs_data import brief_body
from tests.conftest import Clock

BASE = "https://learnhub.example"
KINDS = [("atom", "atom10"), ("rss", "rss20")]


async def publish(client: TestClient, headers: dict[str, str], clock: Clock, **fields: Any) -> str:
    clock.advance(minutes=1)
    response = await client.post("/api/v1/briefs", json=brief_body(**fields), headers=headers)
    assert response.status == 201, await response.text()
    brief_id = str((await response.json())["id"])
    response = await client.post(f"/api/v1/briefs/{brief_id}/publish", headers=headers)
    assert response.status == 200, await response.text()
    return brief_id


async def fetch(client: TestClient, path: str, **headers: str) -> Any:
    """The parsed feed, after checking that it is well formed and of the right kind."""
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    parsed = feedparser.parse(await response.read())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    expected = "atom10" if path.split("?")[0].endswith(".atom") else "rss20"
    assert parsed.version == expected
    return parsed


def urn(brief_id: str) -> str:
    return f"urn:uuid:{brief_id}"


@pytest.mark.parametrize(("fmt", "version"), KINDS)
async def test_feed_lists_newest_first_with_ids_dates_links_and_categories(
    client: TestClient, publisher: dict[str, str], clock: Clock, fmt: str, version: str
) -> None:
    first = await publish(client, publisher, clock, title="First", themes=["neglect"])
    second = await publish(
        client,
        publisher,
        clock,
        title="Second",
        themes=["safer-sleep"],
        agencies=["health-visiting"],
        boroughs=["sefton"],
    )
    response = await client.get(f"/feeds/briefs.{fmt}")
    assert response.content_type == f"application/{fmt}+xml"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    parsed = await fetch(client, f"/feeds/briefs.{fmt}")
    assert parsed.version == version
    assert parsed.feed.title == "Learning briefs"
    assert [e.id for e in parsed.entries] == [urn(second), urn(first)]
    entry = parsed.entries[0]
    assert entry.title == "Second"
    assert entry.link == f"{BASE}/briefs/{second}"
    assert entry.published_parsed[:5] == (2026, 11, 23, 9, 2)
    terms = {(t.get("scheme"), t.get("term") if fmt == "atom" else None) for t in entry.tags}
    assert terms == {
        (f"{BASE}/taxonomy/themes", "safer-sleep" if fmt == "atom" else None),
        (f"{BASE}/taxonomy/agencies", "health-visiting" if fmt == "atom" else None),
        (f"{BASE}/taxonomy/boroughs", "sefton" if fmt == "atom" else None),
    }
    labels = {t.get("label") if fmt == "atom" else t.get("term") for t in entry.tags}
    assert labels == {"Safer sleep", "Health visiting and school nursing", "Sefton"}
    summary = entry.summary
    assert "<li>Discuss safer sleep at every contact" in summary
    assert "Baby T, Sefton Safeguarding Children Partnership, published 14 March 2025" in summary
    assert "<strong>depression</strong>" in summary
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [f"{BASE}/feeds/briefs.{fmt}"]


async def test_atom_dates_updated_and_published(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(client, publisher, clock)
    parsed = await fetch(client, "/feeds/briefs.atom")
    entry = parsed.entries[0]
    assert entry.published == "2026-11-23T09:01:00+00:00"
    assert entry.updated == "2026-11-23T09:01:00+00:00"
    assert parsed.feed.updated == "2026-11-23T09:01:00+00:00"
    rss = await fetch(client, "/feeds/briefs.rss")
    assert rss.feed.updated == "Mon, 23 Nov 2026 09:01:00 +0000"  # lastBuildDate


async def test_an_empty_feed_is_still_valid(client: TestClient) -> None:
    for fmt, _ in KINDS:
        parsed = await fetch(client, f"/feeds/briefs.{fmt}")
        assert parsed.entries == []


async def test_at_most_fifty_entries(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    ids = [await publish(client, publisher, clock, title=f"Brief {n}") for n in range(52)]
    parsed = await fetch(client, "/feeds/briefs.atom")
    assert [e.id for e in parsed.entries] == [urn(i) for i in reversed(ids[2:])]


async def test_filters_or_within_and_across_with_parent_codes(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    gp = await publish(
        client,
        publisher,
        clock,
        themes=["neglect"],
        agencies=["primary-care"],
        boroughs=["wirral"],
    )
    police = await publish(
        client,
        publisher,
        clock,
        themes=["domestic-abuse"],
        agencies=["police"],
        boroughs=["knowsley"],
    )

    async def ids(path: str) -> set[str]:
        return {e.id for e in (await fetch(client, path)).entries}

    assert await ids("/feeds/briefs.atom?agency=health") == {urn(gp)}
    assert await ids("/feeds/briefs.rss?agency=health") == {urn(gp)}
    assert await ids("/feeds/agencies/health.atom") == {urn(gp)}
    assert await ids("/feeds/agencies/primary-care.rss") == {urn(gp)}
    assert await ids("/feeds/themes/domestic-abuse.atom") == {urn(police)}
    assert await ids("/feeds/boroughs/knowsley.rss") == {urn(police)}
    both = "/feeds/briefs.atom?theme=neglect&theme=domestic-abuse"
    assert await ids(both) == {urn(gp), urn(police)}
    assert await ids("/feeds/briefs.atom?theme=neglect&borough=knowsley") == set()
    assert await ids("/feeds/briefs.atom?theme=domestic-abuse&agency=police") == {urn(police)}


async def test_feed_title_and_self_link_describe_the_filter(client: TestClient) -> None:
    query = "borough=knowsley&theme=neglect&theme=domestic-abuse&theme=neglect"
    parsed = await fetch(client, f"/feeds/briefs.atom?{query}")
    assert parsed.feed.title == "Learning briefs: Domestic abuse or Neglect; Knowsley"
    self_link = next(link.href for link in parsed.feed.links if link.rel == "self")
    canonical = f"{BASE}/feeds/briefs.atom?theme=domestic-abuse&theme=neglect&borough=knowsley"
    assert self_link == canonical
    assert parsed.feed.id == canonical
    single = await fetch(client, "/feeds/agencies/health.rss")
    assert single.feed.title == "Learning briefs: Health (all)"
    assert single.feed.links[-1].href == f"{BASE}/feeds/agencies/health.rss"


async def test_restricted_briefs_are_absent_from_every_public_feed(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    fields = {"themes": ["neglect"], "agencies": ["police"], "boroughs": ["wirral"]}
    restricted = await publish(client, publisher, clock, audience="practitioners", **fields)
    public = await publish(client, publisher, clock, **fields)
    paths = [
        "/feeds/briefs.{fmt}",
        "/feeds/briefs.{fmt}?theme=neglect",
        "/feeds/briefs.{fmt}?theme=neglect&agency=police&borough=wirral",
        "/feeds/themes/neglect.{fmt}",
        "/feeds/agencies/police.{fmt}",
        "/feeds/boroughs/wirral.{fmt}",
    ]
    for path in paths:
        for fmt, _ in KINDS:
            response = await client.get(path.format(fmt=fmt))
            body = await response.read()
            assert restricted.encode() not in body
            parsed = feedparser.parse(body)
            assert [e.id for e in parsed.entries] == [urn(public)]


HOSTILE = 'Child "Q" & <script>alert(1)</script> ]]> 👶 \u200fطفل\u200f it\'s'


async def test_hostile_text_yields_well_formed_feeds_with_the_text_intact(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    brief_id = await publish(
        client,
        publisher,
        clock,
        title=HOSTILE,
        summary=f"{HOSTILE}\n\n<img src=x onerror=alert(1)> ]]> **bold**",
        learning_points=[HOSTILE, "Use <b>care</b> & check ]]>"],
        source={"review": HOSTILE, "board": 'Board "B" & Co', "published_on": "2024-01-02"},
    )
    for fmt, _ in KINDS:
        response = await client.get(f"/feeds/briefs.{fmt}")
        raw = await response.read()
        assert b"<script" not in raw.lower()
        assert b"<img" not in raw.lower()
        parsed = await fetch(client, f"/feeds/briefs.{fmt}")
        entry = parsed.entries[0]
        assert entry.id == urn(brief_id)
        assert entry.title == HOSTILE
        assert "<script" not in entry.summary
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry.summary
        assert "👶 \u200fطفل\u200f" in entry.summary
        assert "Use &lt;b&gt;care&lt;/b&gt; &amp; check ]]&gt;" in entry.summary
        assert "Board &quot;B&quot; &amp; Co" in entry.summary or 'Board "B" &amp; Co' in (
            entry.summary
        )


async def test_unknown_code_is_refused_naming_it_and_the_valid_codes(client: TestClient) -> None:
    response = await client.get("/feeds/briefs.atom?theme=neglect&agency=nurses")
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "bad_request"
    assert "'nurses'" in error["message"]
    assert error["details"]["unknown"] == ["nurses"]
    assert "health" in error["details"]["valid"]


async def test_unknown_code_in_a_path_is_not_found_with_the_valid_codes(
    client: TestClient,
) -> None:
    response = await client.get("/feeds/themes/neglekt.rss")
    assert response.status == 404
    error = (await response.json())["error"]
    assert "'neglekt'" in error["message"]
    assert "neglect" in error["details"]["valid"]


async def test_unknown_query_parameter_is_refused_naming_it(client: TestClient) -> None:
    for path in ("/feeds/briefs.rss?theme=neglect&q=baby", "/feeds/themes/neglect.atom?q=baby"):
        response = await client.get(path)
        assert response.status == 400
        error = (await response.json())["error"]
        assert "'q'" in error["message"]
        assert error["details"]["unknown"] == ["q"]
    error = (await (await client.get("/feeds/briefs.rss?q=baby")).json())["error"]
    assert error["details"]["valid"] == ["agency", "borough", "theme"]


async def test_more_than_thirty_filter_values_are_refused(client: TestClient) -> None:
    codes = ["neglect", "domestic-abuse", "sexual-abuse"]
    query = "&".join(f"theme={codes[n % 3]}" for n in range(31))
    response = await client.get(f"/feeds/briefs.atom?{query}")
    assert response.status == 400
    error = (await response.json())["error"]
    assert "at most 30" in error["message"]
    assert error["details"] == {"limit": 30, "given": 31}
    ok = "&".join(f"theme={codes[n % 3]}" for n in range(30))
    assert (await client.get(f"/feeds/briefs.atom?{ok}")).status == 200


async def test_group_feeds_are_private_carry_restricted_learning_and_rotate(
    client: TestClient, admin: dict[str, str], clock: Clock
) -> None:
    public = await publish(client, admin, clock, title="Public", themes=["neglect"])
    restricted = await publish(
        client, admin, clock, title="Restricted", themes=["neglect"], audience="practitioners"
    )
    other = await publish(client, admin, clock, title="Other", themes=["safer-sleep"])
    feeds = {}
    for name, practitioners in (("MASH", True), ("Schools", False)):
        group = await (
            await client.post(
                "/api/v1/groups",
                headers=admin,
                json={"name": name, "themes": ["neglect"], "practitioners_only": practitioners},
            )
        ).json()
        token = await client.post(f"/api/v1/groups/{group['id']}/feed-token", headers=admin)
        feeds[name] = ((await token.json())["feed_url"].removeprefix(BASE), group["id"])
    mash = await fetch(client, feeds["MASH"][0])
    assert [e.id for e in mash.entries] == [urn(restricted), urn(public)]
    assert mash.feed.title == "Learning briefs for MASH"
    assert [e.id for e in (await fetch(client, feeds["Schools"][0])).entries] == [urn(public)]
    assert urn(other) not in {e.id for e in mash.entries}
    response = await client.get(feeds["MASH"][0])
    assert response.headers["Cache-Control"].startswith("private")

    await client.post(f"/api/v1/groups/{feeds['MASH'][1]}/feed-token", headers=admin)
    for path in (feeds["MASH"][0], "/feeds/groups/never-issued.atom"):
        gone = await client.get(path)
        assert gone.status == 404
        assert (await gone.json())["error"] == {
            "code": "not_found",
            "message": "no such feed",
            "details": None,
        }


async def test_category_schemes_are_pages_listing_their_codes(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(client, publisher, clock, agencies=["health-visiting"])
    entry = (await fetch(client, "/feeds/briefs.atom")).entries[0]
    agency = next(t for t in entry.tags if t.scheme.endswith("/agencies"))
    response = await client.get(agency.scheme.removeprefix(BASE))
    assert response.status == 200
    page = await response.text()
    assert f'id="{agency.term}"' in page
    assert "Health visiting and school nursing" in page
    assert "part of Health" in page
    # Its feed: the feeds page with the address to copy (a feed in a browser shows XML).
    assert 'href="/feeds?agency=health-visiting#your-feed"' in page
    assert 'href="/?agency=health-visiting"' in page
    assert (await client.get("/taxonomy/colours")).status == 404
