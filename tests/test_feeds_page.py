"""The /feeds page builds feed addresses from the taxonomy; pages advertise their feeds."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient

from tests.test_feeds import BASE, fetch

AUTODISCOVERY = (
    f'<link rel="alternate" type="application/atom+xml" title="Learning briefs (Atom)" '
    f'href="{BASE}/feeds/briefs.atom">',
    f'<link rel="alternate" type="application/rss+xml" title="Learning briefs (RSS)" '
    f'href="{BASE}/feeds/briefs.rss">',
)


def head(html: str) -> str:
    return html.split("</head>")[0]


async def test_page_offers_every_code_in_fieldsets_and_advertises_the_feeds(
    client: TestClient,
) -> None:
    response = await client.get("/feeds")
    assert response.status == 200
    html = await response.text()
    assert '<form method="get" action="/feeds"' in html
    legends = re.findall(r'<h3 class="govuk-fieldset__heading">(\w+)</h3>', html)
    assert legends == ["Themes", "Agencies", "Boroughs"]
    names = re.findall(r'name="(theme|agency|borough)" type="checkbox" value="([a-z0-9-]+)"', html)
    assert ("agency", "health") in names
    assert ("borough", "st-helens") in names
    assert len([n for n, _ in names if n == "borough"]) == 5
    assert "Includes Health visiting and school nursing, Midwifery and maternity" in html
    assert "<script>" not in html
    for link in AUTODISCOVERY:
        assert link in head(html)
    assert f'value="{BASE}/feeds/briefs.atom"' in html


async def test_the_form_produces_the_feed_url(client: TestClient) -> None:
    form = await (await client.get("/feeds")).text()
    chosen = [("theme", "neglect"), ("agency", "health"), ("borough", "knowsley")]
    for name, value in chosen:
        assert f'name="{name}" type="checkbox" value="{value}"' in form
    response = await client.get(f"/feeds?{urlencode(chosen)}")
    assert response.status == 200
    html = await response.text()
    assert "Your feed: Learning briefs: Neglect; Health (all); Knowsley" in html
    atom = f"{BASE}/feeds/briefs.atom?theme=neglect&agency=health&borough=knowsley"
    field = re.search(r'id="chosen-atom" type="text" value="([^"]+)" readonly', html)
    assert field is not None
    assert unescape(field.group(1)) == atom
    assert re.search(r'value="neglect" checked', html)
    assert 'type="application/rss+xml" title="Learning briefs: Neglect; Health (all)' in head(html)
    parsed = await fetch(client, atom.removeprefix(BASE))
    assert parsed.feed.title == "Learning briefs: Neglect; Health (all); Knowsley"


async def test_an_unknown_code_on_the_page_is_shown_as_an_error(client: TestClient) -> None:
    response = await client.get("/feeds?theme=neglekt&utm_source=email")
    assert response.status == 400
    html = await response.text()
    assert "There is a problem" in html
    assert '<a href="#theme">Unknown theme code &#39;neglekt&#39;</a>' in html


async def test_error_pages_carry_the_feed_links(client: TestClient) -> None:
    response = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status == 404
    html = await response.text()
    for link in AUTODISCOVERY:
        assert link in head(html)


async def test_the_page_names_readers_that_work_today_and_offers_to_copy(
    client: TestClient,
) -> None:
    html = await (await client.get("/feeds?theme=neglect")).text()
    where = html.split('id="where"', 1)[1]
    for reader in ("Thunderbird", "Classic Outlook for Windows", "Workflows app", "Slack"):
        assert reader in where
    assert "The new Outlook for Windows and Outlook on the web cannot follow feeds" in where
    assert "the old RSS connector has been retired" in where
    # Each address has a Copy button (shown by the script where the clipboard works) and a
    # status that says what happened; no link opens the raw XML.
    for field in ("all-atom", "all-rss", "chosen-atom", "chosen-rss"):
        assert f'data-copy="{field}" hidden>Copy' in html
        assert f'id="{field}-status" role="status"' in html
    assert "Open the atom feed" not in html.lower()
