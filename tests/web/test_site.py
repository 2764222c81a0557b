"""The public reading site: the list, its filters and counts, search, and a brief's page."""

from __future__ import annotations

import re
import uuid

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.briefs.models import Brief
from tests.conftest import Clock
from tests.web.helpers import HTML, draft, practitioner_cookie, publish

NEGLECT = {
    "title": "Neglect in Knowsley: the Smith children",
    "summary": "The children lived with chronic neglect for years.",
    "learning_points": ["Look at the home conditions."],
    "themes": ["neglect"],
    "agencies": ["police"],
    "boroughs": ["knowsley"],
}

SECRET = {
    "title": "Walrus tusks: learning from Child W",
    "summary": "The narwhal words of a restricted summary.",
    "learning_points": ["Oyster point."],
    "source": {"review": "Child W", "board": "Seahorse Partnership"},
    "themes": ["neglect"],
    "agencies": ["police"],
    "boroughs": ["knowsley"],
    "audience": "practitioners",
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
    # A tag's feed: the feeds page with its address to copy (a feed in a browser is XML).
    assert 'href="/feeds?theme=safer-sleep#your-feed">A feed of Safer sleep</a>' in html
    assert (
        'href="/subscribe?theme=infants&amp;theme=safer-sleep&amp;agency=health-visiting'
        '&amp;borough=sefton"' in html
    )
    assert 'rel="alternate" type="application/atom+xml"' in html


async def test_draft_and_unknown_briefs_are_404(
    client: TestClient, publisher: dict[str, str]
) -> None:
    unpublished = await draft(client, publisher)
    for path in (
        unpublished,
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
    ):
        response = await client.get(f"/briefs/{path}", headers=HTML)
        assert response.status == 404
        html = await response.text()
        assert "Page not found" in html
        assert "Safer sleep" not in html


async def test_a_restricted_brief_answers_403_and_names_nothing_of_it(
    client: TestClient, publisher: dict[str, str]
) -> None:
    restricted = await publish(client, publisher, **SECRET)
    response = await client.get(f"/briefs/{restricted}", headers=HTML)
    assert response.status == 403
    html = await response.text()
    assert "This learning is for practitioners" in html
    assert f'href="/practitioners/sign-in?next=%2Fbriefs%2F{restricted}"' in html
    for word in ("Walrus", "Child W", "narwhal", "Oyster", "Seahorse"):
        assert word not in html
    assert "Cache-Control" not in response.headers  # nothing private in it


async def test_a_withdrawn_public_brief_answers_410_with_its_title_and_reason(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    brief_id = await publish(client, publisher, **NEGLECT)
    clock.advance(days=10)
    await withdraw(client, publisher, sessions, brief_id, "The review was republished.")
    response = await client.get(f"/briefs/{brief_id}", headers=HTML)
    assert response.status == 410
    html = await response.text()
    assert "This learning brief has been withdrawn" in html
    assert "Neglect in Knowsley: the Smith children" in html
    assert "3 December 2026" in html
    assert "The review was republished." in html
    assert "chronic neglect" not in html and "home conditions" not in html

    # Restored to a draft, it stays withdrawn until published again, and names nothing.
    restored = await client.post(f"/api/v1/briefs/{brief_id}/restore", headers=publisher)
    assert restored.status == 200
    response = await client.get(f"/briefs/{brief_id}", headers=HTML)
    assert response.status == 410
    html = await response.text()
    assert "This learning brief has been withdrawn" in html and "3 December 2026" in html
    assert "Smith children" not in html and "republished" not in html
    await client.post(f"/api/v1/briefs/{brief_id}/publish", headers=publisher)
    assert (await client.get(f"/briefs/{brief_id}", headers=HTML)).status == 200


async def test_a_withdrawn_restricted_brief_is_named_only_to_practitioners(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    brief_id = await publish(client, publisher, **SECRET)
    await withdraw(client, publisher, sessions, brief_id, "Beluga reasons.")
    response = await client.get(f"/briefs/{brief_id}", headers=HTML)
    assert response.status == 410
    html = await response.text()
    assert "This learning brief has been withdrawn" in html and "23 November 2026" in html
    for word in ("Walrus", "narwhal", "Oyster", "Beluga"):
        assert word not in html

    signed_in = await practitioner_cookie(sessions, "gp@nhs.net", clock.now)
    response = await client.get(f"/briefs/{brief_id}", headers=signed_in)
    assert response.status == 410
    assert response.headers["Cache-Control"] == "private, no-store"
    html = await response.text()
    assert "Walrus" in html and "Beluga reasons." in html
    assert "narwhal" not in html and "Oyster" not in html


async def withdraw(
    client: TestClient,
    publisher: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    brief_id: str,
    reason: str,
) -> None:
    response = await client.post(f"/api/v1/briefs/{brief_id}/withdraw", headers=publisher)
    assert response.status == 200, await response.text()
    # The public reason, written directly: how it is given is the withdrawal's own business.
    async with sessions.begin() as session:
        brief = await session.get(Brief, uuid.UUID(brief_id))
        assert brief is not None
        brief.withdrawn_reason = reason
