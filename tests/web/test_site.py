"""The public reading site: the list, its filters and counts, search, and a brief's page."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.conftest import Clock
from tests.web.helpers import HTML, draft, publish

NEGLECT = {
    "title": "Neglect in Knowsley: the Smith children",
    "summary": "The children lived with chronic neglect for years.",
    "learning_points": ["Look at the home conditions."],
    "themes": ["neglect"],
    "agencies": ["police"],
    "boroughs": ["knowsley"],
}


def titles(html: str) -> list[str]:
    return re.findall(
        r'<h3 class="govuk-heading-s[^"]*"><a class="govuk-link" href="/briefs/[^"]+">([^<]+)</a>',
        html,
    )


async def test_list_shows_public_published_briefs_newest_first(
    client: TestClient, publisher: dict[str, str], clock: Clock
) -> None:
    await publish(client, publisher, title="Older brief")
    clock.advance(hours=1)
    await publish(client, publisher, title="Newer brief")
    await publish(client, publisher, title="Restricted brief", audience="practitioners")
    await draft(client, publisher, title="Draft brief")

    response = await client.get("/")
    html = await response.text()
    assert response.status == 200
    assert titles(html) == ["Newer brief", "Older brief"]
    assert "2 briefs" in html


async def test_filters_and_counts(client: TestClient, publisher: dict[str, str]) -> None:
    await publish(client, publisher, **NEGLECT)
    await publish(
        client,
        publisher,
        title="Domestic abuse in Wirral",
        themes=["domestic-abuse"],
        agencies=["health-visiting"],
        boroughs=["wirral"],
    )
    await publish(
        client, publisher, title="Region-wide neglect", themes=["neglect"], agencies=[], boroughs=[]
    )
    await publish(
        client,
        publisher,
        title="Restricted neglect",
        audience="practitioners",
        themes=["neglect"],
        agencies=[],
        boroughs=[],
    )

    html = await (await client.get("/?theme=neglect")).text()
    assert sorted(titles(html)) == [
        "Neglect in Knowsley: the Smith children",
        "Region-wide neglect",
    ]
    # Counts: the theme facet ignores its own choice; boroughs count region-wide briefs too.
    assert _count(html, "theme-neglect") == 2
    assert _count(html, "theme-domestic-abuse") == 1
    assert _count(html, "borough-knowsley") == 2
    assert _count(html, "borough-wirral") == 1  # the region-wide neglect brief
    assert 'id="theme-neglect" name="theme" type="checkbox" value="neglect" checked' in html

    # A parent agency includes its children; AND across facets.
    html = await (await client.get("/?agency=health&borough=wirral")).text()
    assert titles(html) == ["Domestic abuse in Wirral"]
    # Unknown codes are shrugged off, as on the feeds page.
    assert (await client.get("/?theme=nonsense")).status == 200


def _count(html: str, checkbox: str) -> int:
    found = re.search(rf'for="{checkbox}">[^<]*<span class="learnhub-meta">\((\d+)', html)
    assert found, checkbox
    return int(found.group(1))


async def test_search_box_and_restricted_briefs_never_found(
    client: TestClient, publisher: dict[str, str]
) -> None:
    await publish(client, publisher, **NEGLECT)
    await publish(client, publisher, title="Hidden males", summary="Fathers were invisible.")
    await publish(
        client, publisher, title="Restricted neglect", summary="Neglect.", audience="practitioners"
    )
    await draft(client, publisher, title="Draft neglect", summary="Neglect.")

    html = await (await client.get("/?q=neglect")).text()
    assert titles(html) == ["Neglect in Knowsley: the Smith children"]
    assert "1 brief matching “neglect”" in html
    api = await (await client.get("/api/v1/briefs", params={"q": "neglect"})).json()
    assert [b["title"] for b in api["items"]] == ["Neglect in Knowsley: the Smith children"]
    assert api["next_cursor"] is None
    # Search and filters together; search syntax is never an error.
    html = await (await client.get("/?q=neglect&borough=wirral")).text()
    assert titles(html) == []
    for odd in ['"unclosed', "AND OR NOT", "title:x*", "-", "(((", "neglect -smith"]:
        assert (await client.get("/", params={"q": odd})).status == 200
        assert (await client.get("/api/v1/briefs", params={"q": odd})).status == 200


async def test_api_refuses_a_cursor_with_q(client: TestClient) -> None:
    response = await client.get("/api/v1/briefs", params={"q": "sleep", "cursor": "abc"})
    assert response.status == 400


async def test_brief_page(client: TestClient, publisher: dict[str, str], clock: Clock) -> None:
    brief_id = await publish(
        client,
        publisher,
        source={
            "review": "Baby T",
            "board": "Sefton Safeguarding Children Partnership",
            "published_on": "2025-03-14",
            "url": "https://example.org/baby-t.pdf",
        },
        themes=["safer-sleep", "infants"],
        agencies=["health-visiting"],
        boroughs=["sefton"],
    )
    clock.advance(days=2)
    response = await client.patch(
        f"/api/v1/briefs/{brief_id}",
        json={"summary": "A new summary with **bold** text.", "significant": True,
              "change_note": "Added the coroner's findings."},
        headers=publisher,
    )  # fmt: skip
    assert response.status == 200

    response = await client.get(f"/briefs/{brief_id}", headers=HTML)
    html = await response.text()
    assert response.status == 200
    assert "Safer sleep and the crying baby: learning from Baby T" in html
    assert "Sefton Safeguarding Children Partnership" in html
    assert "14 March 2025" in html
    assert 'href="https://example.org/baby-t.pdf"' in html
    assert "<strong>bold</strong>" in html
    assert "Discuss safer sleep at every contact" in html
    assert "Updated. Added the coroner&#39;s findings." in html
    assert "publisher@merseyside.police.uk" not in html  # staff stay private
    assert 'href="https://learnhub.example/feeds/themes/safer-sleep.atom"' in html
    assert (
        'href="/subscribe?theme=infants&amp;theme=safer-sleep&amp;agency=health-visiting'
        '&amp;borough=sefton"' in html
    )
    assert 'rel="alternate" type="application/atom+xml"' in html


async def test_restricted_draft_and_unknown_briefs_are_404(
    client: TestClient, publisher: dict[str, str]
) -> None:
    restricted = await publish(client, publisher, audience="practitioners")
    unpublished = await draft(client, publisher)
    withdrawn = await publish(client, publisher)
    await client.post(f"/api/v1/briefs/{withdrawn}/withdraw", headers=publisher)
    for path in (
        restricted,
        unpublished,
        withdrawn,
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
    ):
        response = await client.get(f"/briefs/{path}", headers=HTML)
        assert response.status == 404
        html = await response.text()
        assert "Page not found" in html
        assert "Safer sleep" not in html
